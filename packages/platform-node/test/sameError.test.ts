/**
 * One failing effect, three ways to call it: in-process (`reactor.waitFor`),
 * a reactor thread, and the main thread's reactor from a worker. The caller
 * must get the same error object each way. A plain async operation (`rejects`)
 * must give what `Effect.promise` of it gives in process.
 */
import * as Effect from "effect/Effect"
import { causeOf, Reactor } from "@crochet/core"
import { type BlockingClient, MainThreadBridge, ReactorThread } from "@crochet/platform-node"
import * as Layer from "effect/Layer"
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import { afterAll, describe, expect, it } from "vitest"
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

/** In process, a plain async operation is what `Effect.promise` makes of it. */
const effectOf = (op: keyof typeof failures): Effect.Effect<unknown, unknown> =>
  op === "rejects" ? Effect.promise(failures.rejects) : (failures[op] as () => Effect.Effect<unknown, unknown>)()

const inProcess = async (op: keyof typeof failures): Promise<Record<string, unknown>> =>
  shapeOf(await reactor.waitFor(effectOf(op)).then(() => undefined, (error) => error))

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
