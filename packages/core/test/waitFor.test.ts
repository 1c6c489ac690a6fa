import { describe, expect, it, vi } from "@effect/vitest"
import { Cause, Data, Effect, Exit, type Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { getEventListeners } from "node:events"
import {
  Aborted,
  causeOf,
  InvalidArgument,
  NonErrorFailure,
  Reactor,
  ReactorStopped,
  TimeoutError
} from "../src/index.ts"
import { rejection } from "./helpers.ts"

class NotFound extends Data.TaggedError("NotFound")<{ readonly host: string }> {}

const lookup = Effect.fn("lookup")(function*(name: string) {
  yield* Effect.sleep(1)
  return yield* new NotFound({ host: name })
})
const handler = Effect.fn("handler")(function*(name: string) {
  return yield* lookup(name)
})

/** A fresh reactor (its own layer object, so setup does not share one), shut down after the test. */
const withReactor = async <A>(body: (reactor: Reactor.Reactor<never>) => Promise<A>): Promise<A> => {
  const reactor = Reactor.setup(Layer.effectDiscard(Effect.void))
  try {
    return await body(reactor)
  } finally {
    await reactor.shutdown()
  }
}

describe("waitFor", () => {
  it("resolves with the value, whether the effect finishes at once or later", () =>
    withReactor(async (reactor) => {
      expect(await reactor.waitFor(Effect.succeed(42))).toBe(42)
      expect(await reactor.waitFor(Effect.sleep(5).pipe(Effect.as("later")))).toBe("later")
    }))

  it("rejects with the original error, its stack showing span names and the caller's frames", () =>
    withReactor(async (reactor) => {
      async function handleRequest() {
        return await reactor.waitFor(handler("example.org"))
      }
      const error = await rejection(handleRequest())
      expect(error).toBeInstanceOf(NotFound)
      expect(error._tag).toBe("NotFound")
      expect(error.name).toBe("NotFound")
      expect(error.stack).toContain("at lookup")
      expect(error.stack).toContain("at handler")
      // "at async handleRequest" under plain Node; the test runner's transform drops the "async" prefix.
      expect(error.stack).toMatch(/at (async )?handleRequest/)
      const cause = causeOf(error)!
      expect(Cause.isCause(cause)).toBe(true)
      expect(Cause.squash(cause)).toBe(error)
    }))

  it("gives a synchronous failure the caller's frames too", () =>
    withReactor(async (reactor) => {
      function callSite() {
        return reactor.waitFor(Effect.fail(new NotFound({ host: "now" })))
      }
      const error = await rejection(callSite())
      expect(error).toBeInstanceOf(NotFound)
      expect(error.stack).toContain("callSite")
      expect(error.stack).not.toContain("ReactorImpl")
    }))

  it("treats defects the same way and keeps every failure of the Cause reachable", () =>
    withReactor(async (reactor) => {
      const defect = await rejection(reactor.waitFor(Effect.sync(() => {
        throw new RangeError("bad index")
      })))
      expect(defect).toBeInstanceOf(RangeError)
      const both = await rejection(
        reactor.waitFor(
          Effect.failCause(Cause.combine(Cause.fail(new NotFound({ host: "a" })), Cause.die(new Error("b"))))
        )
      )
      expect(both).toBeInstanceOf(NotFound)
      expect(both.stack).toContain("1 more failure")
      const reasons = causeOf(both)!.reasons.filter((reason) => !Cause.isInterruptReason(reason))
      expect(reasons.map((reason) => reason._tag)).toEqual(["Fail", "Die"])
    }))

  it("wraps a failure that is not an Error so the rejection has a stack", () =>
    withReactor(async (reactor) => {
      const error = await rejection(reactor.waitFor(Effect.fail({ code: 7 })))
      expect(error).toBeInstanceOf(NonErrorFailure)
      expect(error.value).toEqual({ code: 7 })
      expect(error.message).toContain("{\"code\":7}")
      expect(typeof error.stack).toBe("string")
    }))

  it("interrupts the work when the signal aborts", () =>
    withReactor(async (reactor) => {
      const controller = new AbortController()
      let interrupted = false
      const pending = reactor.waitFor(
        Effect.never.pipe(Effect.onInterrupt(() =>
          Effect.sync(() => {
            interrupted = true
          })
        )),
        { signal: controller.signal }
      )
      controller.abort("user left")
      const error = await rejection(pending)
      expect(error).toBeInstanceOf(Aborted)
      expect(error.reason).toBe("user left")
      expect(Cause.hasInterrupts(error.cause)).toBe(true)
      expect(interrupted).toBe(true)
      const already = await rejection(reactor.waitFor(Effect.void, { signal: controller.signal }))
      expect(already).toBeInstanceOf(Aborted)
      expect(already.message).toContain("already aborted")
    }))

  it("a finished call stops listening to its signal: a shared signal gathers no listeners, a later abort changes nothing", () =>
    withReactor(async (reactor) => {
      // Fastify, for one, aborts a request's signal after the response has been sent.
      const controller = new AbortController()
      const waiting = Effect.promise(() => Promise.resolve("done")) // does not finish at once: the call is tracked
      for (let i = 0; i < 100; i++) expect(await reactor.waitFor(waiting, { signal: controller.signal })).toBe("done")
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0)
      controller.abort()
      expect(reactor.stats().calls).toMatchObject({ success: 100, aborted: 0 })
    }))

  it("listens to a signal only for calls still running at the check phase of the event loop", () =>
    withReactor(async (reactor) => {
      const controller = new AbortController()
      const added = vi.spyOn(controller.signal, "addEventListener")
      const quick = Effect.promise(() => Promise.resolve("done")) // not at once: the call is tracked
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => reactor.waitFor(quick, { signal: controller.signal }))
      )
      expect(answers).toEqual(Array(10).fill("done"))
      expect(added).not.toHaveBeenCalled() // over before the check phase: no listener
      let finalized = false
      const slow = rejection(reactor.waitFor(Effect.never.pipe(Effect.ensuring(Effect.sync(() => finalized = true))), {
        signal: controller.signal
      }))
      expect(added).not.toHaveBeenCalled()
      await new Promise((resolve) => setImmediate(resolve)) // the check phase
      expect(added).toHaveBeenCalledTimes(1) // the slow call's only
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(1)
      controller.abort("client left")
      const error = await slow
      expect(error).toBeInstanceOf(Aborted)
      expect(error.reason).toBe("client left")
      expect(finalized).toBe(true)
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0)
    }))

  it("an abort right after the call takes effect within a few turns of the event loop, without waiting for a timer", () =>
    withReactor(async (reactor) => {
      // Timers frozen: an abort acted on at a setTimeout (1 ms or more; 134 s for the soak's
      // 100,000 aborts) would not be acted on at all here.
      vi.useFakeTimers({ toFake: ["setTimeout"] })
      try {
        const controller = new AbortController()
        const pending = rejection(reactor.waitFor(Effect.never, { signal: controller.signal }))
        controller.abort()
        const turns = async (n: number): Promise<"not yet"> => {
          for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
          return "not yet"
        }
        const error = await Promise.race([pending, turns(10)])
        expect(error).toBeInstanceOf(Aborted)
      } finally {
        vi.useRealTimers()
      }
    }))
})

describe("waitFor timeouts (TestClock)", () => {
  it.effect("interrupts the work and rejects with TimeoutError naming the timeout", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      let finalized = false
      const pending = reactor.waitFor(
        Effect.never.pipe(Effect.ensuring(Effect.sync(() => {
          finalized = true
        }))),
        { timeout: "5 seconds" }
      ).then(() => undefined, (error) => error)
      yield* TestClock.adjust("4999 millis")
      expect(finalized).toBe(false)
      yield* TestClock.adjust("1 milli")
      const error = yield* Effect.promise(() => pending)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error.message).toContain("5s")
      expect(Cause.hasInterrupts(error.cause)).toBe(true)
      expect(finalized).toBe(true)
    }))

  it.effect("with both a timeout and a signal, whichever comes first wins; the other is let go", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      const finalized: Array<string> = []
      const work = (name: string) => Effect.never.pipe(Effect.ensuring(Effect.sync(() => finalized.push(name))))

      const aborted = new AbortController()
      const first = reactor.waitFor(work("aborted"), { timeout: "5 seconds", signal: aborted.signal })
        .then(() => undefined, (error) => error)
      yield* TestClock.adjust("1 second")
      aborted.abort("client left")
      const abortError = yield* Effect.promise(() => first)
      expect(abortError).toBeInstanceOf(Aborted)
      expect(abortError.reason).toBe("client left")
      expect(getEventListeners(aborted.signal, "abort")).toHaveLength(0)

      const kept = new AbortController()
      const second = reactor.waitFor(work("timed out"), { timeout: "5 seconds", signal: kept.signal })
        .then(() => undefined, (error) => error)
      yield* TestClock.adjust("5 seconds") // past the first call's deadline too: it must not fire again
      expect(yield* Effect.promise(() => second)).toBeInstanceOf(TimeoutError)
      expect(getEventListeners(kept.signal, "abort")).toHaveLength(0)
      kept.abort()

      expect(finalized).toEqual(["aborted", "timed out"])
      expect(reactor.stats()).toMatchObject({ inFlight: 0, calls: { aborted: 1, timeout: 1, failure: 0 } })
    }))

  it.effect("arms no timer for work that finishes at once, and lets fast work win", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      expect(yield* Effect.promise(() => reactor.waitFor(Effect.succeed(1), { timeout: "1 second" }))).toBe(1)
      const later = reactor.waitFor(Effect.sleep("1 second").pipe(Effect.as(2)), { timeout: "2 seconds" })
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.promise(() => later)).toBe(2)
    }))
})

describe("waitFor(fn)", () => {
  it("keeps name, length and the original under wrapped, and passes `this` on", () =>
    withReactor(async (reactor) => {
      const double = (n: number, _unused?: string) => Effect.succeed(n * 2)
      const wrapped = reactor.waitFor(double, { timeout: "1 second" })
      expect(wrapped.name).toBe("double")
      expect(wrapped.length).toBe(double.length)
      expect(wrapped.wrapped).toBe(double)
      expect(await wrapped(21)).toBe(42)
      expect(await Effect.runPromise(wrapped.wrapped(2))).toBe(4)
      const service = {
        base: 10,
        add: reactor.waitFor(function(this: { base: number }, n: number) {
          return Effect.succeed(this.base + n)
        })
      }
      expect(await service.add(5)).toBe(15)
    }))

  it("rejects when the function throws or returns something that is not an Effect", () =>
    withReactor(async (reactor) => {
      const throws = reactor.waitFor((): Effect.Effect<number> => {
        throw new Error("sync throw")
      })
      expect((await rejection(throws())).message).toBe("sync throw")
      const promise = reactor.waitFor((() => Promise.resolve(1)) as unknown as () => Effect.Effect<number>)
      const error = await rejection(promise())
      expect(error).toBeInstanceOf(InvalidArgument)
      expect(error.message).toContain("Effect.promise")
    }))

  it("works as a standard method decorator", () =>
    withReactor(async (reactor) => {
      // TC39 decorators are called as decorator(method, context); the build tools used by the
      // test runner cannot lower the @ syntax yet, so the test applies it the same way.
      const method = function(this: { factor: number }, n: number) {
        return Effect.succeed(n * this.factor)
      }
      const decorated = reactor.waitForMethod({ timeout: "1 second" })(method, {
        kind: "method",
        name: "scale"
      } as ClassMethodDecoratorContext<{ factor: number }>)
      expect(await decorated.call({ factor: 3 }, 2)).toBe(6)
    }))
})

describe("bad input", () => {
  const badTimeouts: ReadonlyArray<unknown> = [
    NaN,
    -1,
    "soon",
    "-5 seconds",
    { seconds: "x" },
    { millis: 5000 },
    null,
    true
  ]

  it("refuses bad durations and options with InvalidArgument, at the call", () =>
    withReactor(async (reactor) => {
      // Twice: a literal's decoding is cached, a bad one must be refused every time.
      for (const timeout of [...badTimeouts, ...badTimeouts]) {
        const error = await rejection(reactor.waitFor(Effect.void, { timeout } as never))
        expect(error, String(timeout)).toBeInstanceOf(InvalidArgument)
        expect(error.message).toContain("options.timeout")
      }
      expect(await rejection(reactor.waitFor(Effect.void, "5 seconds" as never))).toBeInstanceOf(InvalidArgument)
      expect(await rejection(reactor.waitFor(Effect.void, { signal: {} } as never))).toBeInstanceOf(InvalidArgument)
      expect(() => reactor.waitFor(() => Effect.void, { timeout: -1 })).toThrow(InvalidArgument)
      expect(() => Reactor.setup(Layer.empty, { drain: NaN })).toThrow(InvalidArgument)
      expect(() => Reactor.make({ shutdownTimeout: "never" as never })).toThrow(InvalidArgument)
    }))

  it("accepts every form of Duration.Input, and Infinity as no limit", () =>
    withReactor(async (reactor) => {
      for (const timeout of [5000, "5 seconds", [5, 0] as const, { seconds: 5 }, Infinity, "Infinity"] as const) {
        expect(await reactor.waitFor(Effect.succeed(1), { timeout })).toBe(1)
      }
    }))

  it("refuses values that are not Effects, with a hint for Promises", () =>
    withReactor(async (reactor) => {
      const error = await rejection(reactor.waitFor(Promise.resolve(1) as never))
      expect(error).toBeInstanceOf(InvalidArgument)
      expect(error.message).toContain("Effect.promise")
      expect(() => reactor.runInReactor(42 as never)).toThrow(InvalidArgument)
    }))

  it("refuses every call after shutdown with ReactorStopped", async () => {
    const reactor = Reactor.setup(Layer.empty)
    await reactor.shutdown()
    expect(reactor.status).toBe("stopped")
    expect(await rejection(reactor.waitFor(Effect.void))).toBeInstanceOf(ReactorStopped)
    expect(() => reactor.runInReactor(Effect.void)).toThrow(ReactorStopped)
    expect(() => reactor.retrieve("x")).toThrow(ReactorStopped)
  })
})

describe("Fiber interop", () => {
  it("leaves no fiber behind after a timeout", () =>
    withReactor(async (reactor) => {
      let fiber: Fiber.Fiber<unknown, unknown> | undefined
      const error = await rejection(
        reactor.waitFor(
          Effect.withFiber((self) => {
            fiber = self
            return Effect.never
          }),
          { timeout: 10 }
        )
      )
      expect(error).toBeInstanceOf(TimeoutError)
      expect(Exit.hasInterrupts(fiber!.pollUnsafe()!)).toBe(true)
    }))
})

describe("errors from another realm", () => {
  it("are still passed through as errors, not wrapped", async () => {
    const { runInNewContext } = await import("node:vm")
    const foreign = runInNewContext(`new TypeError("from a vm context")`) as Error
    await withReactor(async (reactor) => {
      expect(await rejection(reactor.waitFor(Effect.fail(foreign)))).toBe(foreign)
    })
  })
})

describe("the call-site frame of a span", () => {
  it("shows the user's frame or none, never the reactor's own source", () =>
    withReactor(async (reactor) => {
      const greet = reactor.waitFor(
        Effect.fn("greet")(function*(id: number) {
          return yield* new NotFound({ host: String(id) })
        })
      )
      const error = await rejection(greet(42))
      expect(error.stack).toContain("at greet (definition)")
      expect(error.stack).not.toMatch(/packages\/core\/(src|dist)\//)
    }))
})
