import { Reactor } from "@crochet/core"
import { MainThreadBridge, WrongThread } from "@crochet/platform-node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { threadId, Worker } from "node:worker_threads"
import { afterEach, describe, expect, it } from "vitest"
import { log, operations } from "./fixtures/bridge-operations.ts"

interface Outcome {
  readonly ok: boolean
  readonly value?: unknown
  readonly millis: number
  readonly error?: {
    readonly name: string
    readonly _tag?: string
    readonly message: string
    readonly stack: string
    readonly instanceOfLookupError: boolean
    readonly fields: Record<string, unknown>
  }
  readonly shape?: any
}

/** How long a poll may wait: a fresh worker has to start first (seconds on a loaded machine). */
const pollBound = { timeout: 20_000 }

const workers: Array<Worker> = []

/** A worker thread blocked on the main reactor's bridge, driven by messages. */
const startWorker = (
  bridge: MainThreadBridge.Bridge<any>,
  options?: Parameters<typeof MainThreadBridge.connect>[1]
) => {
  const endpoint = bridge.endpoint()
  const worker = new Worker(new URL("./fixtures/bridge-worker.ts", import.meta.url), {
    workerData: { endpoint, options },
    transferList: [endpoint.port]
  })
  workers.push(worker)
  const call = (
    op: string,
    args: Array<unknown> = [],
    extra: { timeout?: string; fn?: boolean; handle?: string } = {}
  ) =>
    new Promise<Outcome>((resolve, reject) => {
      worker.once("message", resolve)
      worker.once("error", reject)
      worker.postMessage({ op, args, ...extra })
    })
  return { worker, call }
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()))
})

const layer = () => Layer.empty

describe("MainThreadBridge", () => {
  it("a worker's blocking call runs in the main thread's reactor", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    expect(await call("add", [1, 2])).toMatchObject({ ok: true, value: 3 })
    expect(await call("threadId")).toMatchObject({ ok: true, value: threadId })
    await reactor.shutdown()
  })

  it("low-latency mode (lowLatency, as ReactorThread's) answers values and failures as the default mode", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations, { lowLatency: true })
    const { call } = startWorker(bridge, { lowLatency: { callerSpin: "100 micros" } })
    for (let i = 0; i < 5; i++) expect(await call("add", [i, 1])).toMatchObject({ ok: true, value: i + 1 })
    expect(await call("lookup", ["missing"])).toMatchObject({ ok: false, error: { instanceOfLookupError: true } })
    await reactor.shutdown()
  })

  it("several workers block on the main reactor at once", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const results = await Promise.all([1, 2, 3].map((n) => startWorker(bridge).call("add", [n, n])))
    expect(results.map((result) => result.value)).toEqual([2, 4, 6])
    await reactor.shutdown()
  })

  it("keeps a registered plain Error's name, every cause, and refuses class instances with methods", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    const plain = (await call("failPlain")).shape
    expect(plain).toMatchObject({
      instanceOf: ["PlainError"],
      name: "PlainError",
      headline: "PlainError: a plain error"
    })
    const withCause = (await call("failWithCause")).shape
    expect(withCause).toMatchObject({ instanceOf: ["WithCause"], cause: { name: "RangeError", message: "inner" } })
    const defect = (await call("dieWithCause")).shape
    expect(defect).toMatchObject({ message: "outer defect", cause: { name: "RangeError", message: "inner defect" } })
    expect((await call("point")).error).toMatchObject({ _tag: "NotCloneable", fields: { argument: "result" } })
    expect(await call("add", [1, 2])).toMatchObject({ ok: true, value: 3 })
    await reactor.shutdown()
  })

  it("a typed failure keeps its class, _tag, fields, span trace and the worker's frames", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const outcome = await startWorker(bridge).call("lookup", ["missing"])
    expect(outcome.ok).toBe(false)
    expect(outcome.error).toMatchObject({
      name: "LookupError",
      _tag: "LookupError",
      message: "no address for missing",
      instanceOfLookupError: true,
      fields: { host: "missing", attempts: 2 }
    })
    expect(outcome.error!.stack).toContain("at lookup (definition)")
    expect(outcome.error!.stack).not.toMatch(/packages\/(core|platform-node)\/(src|dist)\//)
    expect(outcome.error!.stack).toContain("bridge-worker.ts")
    await reactor.shutdown()
  })

  it("a timeout interrupts the work in the main reactor; the bridge keeps serving", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    const outcome = await call("hang", ["timeout"], { timeout: "100 millis" })
    expect(outcome.error?.name).toBe("TimeoutError")
    expect(outcome.millis).toBeGreaterThanOrEqual(99)
    await expect.poll(() => log.includes("finalized timeout"), pollBound).toBe(true)
    expect(await call("add", [2, 2])).toMatchObject({ ok: true, value: 4 })
    await reactor.shutdown()
  })

  it("shutting the main reactor down releases every blocked worker with ReactorStopped", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const a = startWorker(bridge)
    const b = startWorker(bridge)
    expect(await a.call("add", [0, 0])).toMatchObject({ ok: true })
    expect(await b.call("add", [0, 0])).toMatchObject({ ok: true })
    const blocked = [a.call("hang", ["a"]), b.call("hang", ["b"])]
    await expect.poll(() => log.includes("started a") && log.includes("started b"), pollBound).toBe(true)
    await reactor.shutdown()
    const outcomes = await Promise.all(blocked)
    for (const outcome of outcomes) {
      expect(outcome.error?._tag).toBe("ReactorStopped")
    }
    expect(log).toContain("finalized a")
    expect(log).toContain("finalized b")
    // later calls fail fast
    expect((await a.call("add", [1, 1])).error?._tag).toBe("ReactorStopped")
  })

  it("closing the bridge releases a blocked worker; later calls fail fast", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    expect(await call("add", [0, 0])).toMatchObject({ ok: true })
    const blocked = call("hang", ["closed"])
    await expect.poll(() => log.includes("started closed"), pollBound).toBe(true)
    bridge.close()
    expect((await blocked).error?._tag).toBe("ReactorStopped")
    expect((await call("add", [1, 1])).error?._tag).toBe("ReactorStopped")
    await reactor.shutdown()
  })

  it("bad input: a non-cloneable argument and an unknown operation are typed errors in the worker", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    const notCloneable = await call("echo", [], { fn: true })
    expect(notCloneable.error).toMatchObject({ _tag: "NotCloneable", fields: { operation: "echo", argument: 0 } })
    const unknown = await call("nope")
    expect(unknown.error?._tag).toBe("UnknownOperation")
    expect(await call("add", [1, 1])).toMatchObject({ ok: true, value: 2 })
    await reactor.shutdown()
  })

  it("a worker's ThreadResult handles: poll, wait with a timeout that does not cancel, cancel", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const { call } = startWorker(bridge)
    expect(await call("start:add", [20, 22], { handle: "sum" })).toMatchObject({ ok: true })
    expect(await call("wait", [], { handle: "sum" })).toMatchObject({ ok: true, value: 42 })
    expect(await call("start:hang", ["handle"], { handle: "h" })).toMatchObject({ ok: true })
    await expect.poll(() => log.includes("started handle"), pollBound).toBe(true)
    expect(await call("poll", [], { handle: "h" })).toMatchObject({ value: "running" })
    expect((await call("wait", [], { handle: "h", timeout: "20 millis" })).error?.name).toBe("TimeoutError")
    expect(log).not.toContain("finalized handle")
    await call("cancel", [], { handle: "h" })
    expect((await call("wait", [], { handle: "h", timeout: "10 seconds" })).error?._tag).toBe("Cancelled")
    expect(log).toContain("finalized handle")
    await reactor.shutdown()
  })

  it("connecting from the serving thread itself throws WrongThread instead of deadlocking", async () => {
    const reactor = Reactor.setup(layer())
    const bridge = MainThreadBridge.serve(reactor, operations)
    const endpoint = bridge.endpoint()
    expect(() => MainThreadBridge.connect(endpoint)).toThrow(WrongThread)
    endpoint.port.close()
    await reactor.shutdown()
  })

  it("make: an Effect app serves its own services; closing the scope releases blocked workers, then finalizers run", async () => {
    class Greeter extends Context.Service<Greeter, { readonly greet: (name: string) => string }>()("test/Greeter") {}
    const events: Array<string> = []
    const GreeterLive = Layer.effect(
      Greeter,
      Effect.acquireRelease(
        Effect.succeed({ greet: (name: string) => `hello ${name}` }),
        () => Effect.sync(() => events.push("greeter released"))
      )
    )
    const served = {
      greet: (name: string) =>
        Effect.gen(function*() {
          const greeter = yield* Greeter
          return greeter.greet(name)
        }),
      hang: () =>
        Effect.sync(() => events.push("hang started")).pipe(
          Effect.andThen(Effect.never),
          Effect.ensuring(Effect.sync(() => events.push("hang finalized")))
        )
    }
    let blocked: Promise<Outcome> | undefined
    await Effect.runPromise(
      Effect.gen(function*() {
        const bridge = yield* MainThreadBridge.make(served)
        const { call } = startWorker(bridge)
        expect(yield* Effect.promise(() => call("greet", ["worker"]))).toMatchObject({
          ok: true,
          value: "hello worker"
        })
        blocked = call("hang")
        yield* Effect.promise(() => expect.poll(() => events.includes("hang started"), pollBound).toBe(true))
      }).pipe(Effect.scoped, Effect.provide(GreeterLive))
    )
    expect((await blocked!).error?._tag).toBe("ReactorStopped")
    expect(events).toEqual(["hang started", "hang finalized", "greeter released"])
  })

  it("make: a drain lets a worker's call in flight finish before the bridge closes", async () => {
    let started = false
    const served = {
      slow: () =>
        Effect.sync(() => {
          started = true
        }).pipe(Effect.andThen(Effect.sleep("200 millis")), Effect.as("finished during the drain"))
    }
    let inFlight: Promise<Outcome> | undefined
    await Effect.runPromise(
      Effect.gen(function*() {
        const bridge = yield* MainThreadBridge.make(served, { reactor: { drain: "10 seconds" } })
        inFlight = startWorker(bridge).call("slow")
        yield* Effect.promise(() => expect.poll(() => started, pollBound).toBe(true))
      }).pipe(Effect.scoped)
    )
    expect(await inFlight!).toMatchObject({ ok: true, value: "finished during the drain" })
  })
})
