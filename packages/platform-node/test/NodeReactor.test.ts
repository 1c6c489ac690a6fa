import { EventualResult, type Reactor, TimeoutError } from "@crochet/core"
import { NodeReactor } from "@crochet/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"
import { describe, expect, it } from "vitest"
import { makeFacade } from "../src/internal/nodeReactor.ts"

describe("NodeReactor forwards every Reactor method and option", () => {
  it("runInReactor's timeout interrupts the work, as with core's reactor", async () => {
    const reactor = NodeReactor.setup(Layer.effectDiscard(Effect.void), { signals: false })
    const error = await reactor.runInReactor(Effect.never, { timeout: "20 millis" }).wait().catch((error) => error)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error.message).toContain("The call timed out after 20ms, so the work was interrupted")
    await reactor.shutdown()
  })

  it("walks every member of Reactor through the facade: same arguments in, results adapted", async () => {
    const calls: Array<[string, Array<unknown>]> = []
    const handle = { [EventualResult.TypeId]: EventualResult.TypeId, wait: () => Promise.resolve("waited") }
    const spy = {
      status: "running",
      waitFor: (...args: Array<unknown>) =>
        record("waitFor", args, typeof args[0] === "function" ? () => Promise.resolve(1) : Promise.resolve(1)),
      runInReactor: (...args: Array<unknown>) =>
        record("runInReactor", args, typeof args[0] === "function" ? () => handle : handle),
      runCallback: (...args: Array<unknown>) => record("runCallback", args, () => "cancelled"),
      waitForMethod: (...args: Array<unknown>) => record("waitForMethod", args, () => () => Promise.resolve(2)),
      runInReactorMethod: (...args: Array<unknown>) => record("runInReactorMethod", args, () => () => handle),
      stats: (...args: Array<unknown>) => record("stats", args, { inFlight: 0 }),
      retrieve: (...args: Array<unknown>) => record("retrieve", args, handle),
      shutdown: (...args: Array<unknown>) => record("shutdown", args, Promise.resolve())
    }
    const record = <A>(name: string, args: Array<unknown>, result: A): A => {
      calls.push([name, args])
      return result
    }
    const facade = makeFacade(spy as unknown as Reactor.Reactor<never>, true, () => {})
    const effect = Effect.succeed(1)
    const fn = (n: number) => Effect.succeed(n)
    const signal = new AbortController().signal
    const parentSpan = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" })
    const waitOptions = { timeout: "1 second", signal, spanName: "w", parentSpan } as const
    const runOptions = { timeout: "2 seconds", spanName: "r" } as const
    const callbackOptions = { timeout: "3 seconds" as const, spanName: "c", parentSpan, onExit: () => {} }
    // One walk per member of Reactor: the type makes this list complete.
    const walks: { readonly [K in keyof Reactor.Reactor<never>]-?: () => Promise<unknown> | unknown } = {
      status: () => expect(facade.status).toBe("running"),
      waitFor: async () => {
        expect(await facade.waitFor(effect, waitOptions)).toBe(1)
        expect(await facade.waitFor(fn, waitOptions)(1)).toBe(1)
      },
      runInReactor: async () => {
        expect(await facade.runInReactor(effect, runOptions).wait()).toBe("waited")
        expect(EventualResult.isEventualResult(facade.runInReactor(fn)(1))).toBe(true)
      },
      runCallback: () => expect(facade.runCallback(effect, callbackOptions)()).toBe("cancelled"),
      waitForMethod: async () => {
        const decorated = facade.waitForMethod(waitOptions)(fn as never, { name: "m" } as never) as () => Promise<
          number
        >
        expect(await decorated()).toBe(2)
      },
      runInReactorMethod: async () => {
        const decorated = facade.runInReactorMethod()(fn as never, { name: "m" } as never) as () => unknown
        expect(EventualResult.isEventualResult(decorated())).toBe(true)
      },
      stats: () => expect(facade.stats()).toEqual({ inFlight: 0 }),
      retrieve: async () => expect(await facade.retrieve("id-1").wait()).toBe("waited"),
      shutdown: () => facade.shutdown(),
      [Symbol.asyncDispose]: () => facade[Symbol.asyncDispose]()
    }
    for (const member of Reflect.ownKeys(walks) as Array<keyof typeof walks>) await walks[member]()
    expect(calls).toEqual([
      ["waitFor", [effect, waitOptions]],
      ["waitFor", [fn, waitOptions]],
      ["runInReactor", [effect, runOptions]],
      ["runInReactor", [fn]],
      ["runCallback", [effect, callbackOptions]],
      ["waitForMethod", [waitOptions]],
      ["runInReactorMethod", []],
      ["stats", []],
      ["retrieve", ["id-1"]],
      ["shutdown", []],
      ["shutdown", []] // await using: Symbol.asyncDispose is the facade's shutdown
    ])
  })
})
