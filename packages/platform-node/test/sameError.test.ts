/**
 * One failing effect, four ways to call it: in-process (`reactor.waitFor`),
 * a reactor thread, the main thread's reactor from a worker, and a Redis
 * retrieve of work stashed in another process (from its main thread, and
 * from a worker thread through a MainThreadBridge). The caller must get the
 * same error object each way. A plain async operation (`rejects`) must give
 * what `Effect.promise` of it gives in process.
 */
import { causeOf, Reactor } from "@crochet/core"
import { type BlockingClient, MainThreadBridge, ReactorThread } from "@crochet/platform-node"
import { RedisResultStore } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, startRedis } from "../../redis-store/test/helpers.ts"
import { operations } from "./fixtures/bridge-operations.ts"
import { LookupError, PlainError, WithCause } from "./fixtures/errors.ts"
import { failures } from "./fixtures/failures.ts"
import { shapeOf } from "./fixtures/shape.ts"

const thread = ReactorThread.connect<typeof import("./fixtures/demo.reactor.ts")>(
  new URL("./fixtures/demo.reactor.ts", import.meta.url),
  { errors: [LookupError, PlainError, WithCause] }
)
const reactor = Reactor.setup(Layer.empty)
const bridge = MainThreadBridge.serve(reactor, operations)
const endpoint = bridge.endpoint()
const worker = new Worker(new URL("./fixtures/bridge-worker.ts", import.meta.url), {
  workerData: { endpoint },
  transferList: [endpoint.port]
})

afterAll(async () => {
  thread.shutdown()
  await worker.terminate()
  await reactor.shutdown()
})

const fromWorker = async (op: string): Promise<Record<string, unknown>> => {
  worker.postMessage({ op, args: [] })
  const [outcome] = await once(worker, "message")
  return outcome.shape
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then((value) => {
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
  }, (error) => error)

/** In process, a plain async operation is what `Effect.promise` makes of it. */
const effectOf = (op: keyof typeof failures): Effect.Effect<unknown, unknown> =>
  op === "rejects" ? Effect.promise(failures.rejects) : (failures[op] as () => Effect.Effect<unknown, unknown>)()

const inProcess = async (op: keyof typeof failures): Promise<Record<string, unknown>> =>
  shapeOf(await rejection(reactor.waitFor(effectOf(op))))

const fromThread = (op: keyof typeof failures): Record<string, unknown> => {
  try {
    ;(thread.call[op] as () => unknown)()
  } catch (error) {
    return shapeOf(error)
  }
  throw new Error(`${op} did not fail`)
}

/** Through a handle (`client.start`): `wait()` throws the same error, `originalFailure()` is its Cause. */
const fromHandle = (op: keyof typeof failures): Record<string, unknown> => {
  const handle = (thread.start[op] as () => BlockingClient.ThreadResult<unknown, unknown>)()
  try {
    handle.wait()
  } catch (error) {
    expect(handle.originalFailure()).toBe(causeOf(error))
    return shapeOf(error)
  }
  throw new Error(`${op} did not fail`)
}

describe("the same error object from waitFor, ReactorThread (call and handle) and MainThreadBridge", () => {
  for (const op of ["typedFailure", "failWithCause", "dieWithCause", "failAndDie", "failPlain", "rejects"] as const) {
    it(op, async () => {
      const expected = await inProcess(op)
      expect(expected.causeOf).toBeDefined()
      expect(fromThread(op)).toEqual(expected)
      expect(fromHandle(op)).toEqual(expected)
      expect(await fromWorker(op)).toEqual(expected)
    })
  }
})

/**
 * The Redis path: a process that stashes (fixtures/redis-owner.ts), and this
 * process retrieving with a store of its own, as a second server behind a
 * load balancer would.
 */
describe("the same error object from waitFor and a Redis retrieve in another process", () => {
  let redis: RedisServer
  let owner: ReturnType<typeof startOwner>
  let retriever: Reactor.Reactor<never>
  let store: RedisResultStore.RedisResultStore

  beforeAll(async () => {
    redis = await startRedis()
    owner = startOwner(redis.url)
    store = RedisResultStore.make({ url: redis.url, errors: [LookupError, PlainError, WithCause] })
    retriever = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
  })

  afterAll(async () => {
    owner?.child.kill("SIGKILL")
    await retriever?.shutdown()
    await store?.close()
    await redis?.stop()
  })

  /** Stashes `stash` in the owner process (from its main thread or a worker) and waits for it here. */
  const viaRedis = async (stash: string, from: "main" | "worker"): Promise<Record<string, unknown>> => {
    const { id, error: failed } = await owner.ask({ stash, from })
    if (id === undefined) throw new Error(`the owner could not stash ${stash}: ${JSON.stringify(failed)}`)
    const result = retriever.retrieve(id)
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(result.originalFailure()).toBe(causeOf(error))
    return shapeOf(error)
  }

  /** Each case as an in-process caller meets it: what the Redis path must give too. */
  const inProcessCases: Record<string, () => Promise<Record<string, unknown>>> = {
    typedFailure: () => inProcess("typedFailure"),
    failWithCause: () => inProcess("failWithCause"),
    dieWithCause: () => inProcess("dieWithCause"),
    failAndDie: () => inProcess("failAndDie"),
    failPlain: () => inProcess("failPlain"),
    runInReactorTimeout: async () => shapeOf(await rejection(reactor.waitFor(Effect.never, { timeout: "200 millis" }))),
    effectTimeout: async () => shapeOf(await rejection(reactor.waitFor(Effect.timeout(Effect.never, "20 millis")))),
    cancel: async () => {
      const result = reactor.runInReactor(Effect.never)
      result.cancel()
      return shapeOf(await rejection(result.wait()))
    },
    ownerShutdown: async () => {
      const stopping = Reactor.setup(Layer.effectDiscard(Effect.void), { logLevel: "None" })
      const call = rejection(stopping.waitFor(Effect.never))
      void stopping.shutdown()
      return shapeOf(await call)
    }
  }

  for (const [name, expected] of Object.entries(inProcessCases)) {
    it(name, async () => {
      const want = await expected()
      expect(want.causeOf).toBeDefined()
      expect(await viaRedis(name, "main")).toEqual(want)
      expect(await viaRedis(name, "worker")).toEqual(want)
    })
  }
})

/** The owner process, asked one JSON line at a time. */
const startOwner = (url: string) => {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/redis-owner.ts", import.meta.url)), url], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return {
    child,
    ask: async (command: { readonly stash: string; readonly from: "main" | "worker" }) => {
      child.stdin!.write(`${JSON.stringify(command)}\n`)
      const line = await lines.next()
      if (line.done) throw new Error(`the owner process ended (exit code ${child.exitCode})`)
      return JSON.parse(line.value) as { readonly id?: string; readonly error?: unknown }
    }
  }
}
