import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Deferred, Effect, Exit, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import {
  Aborted,
  Cancelled,
  EventualResult,
  InvalidArgument,
  Reactor,
  ResultNotFound,
  TimeoutError
} from "../src/index.ts"
import { rejection } from "./helpers.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly code: number }> {}

/** A logger that keeps every line, to assert on what the reactor logs. */
const recordingLogger = () => {
  const lines: Array<string> = []
  const failures: Array<unknown> = []
  const logger = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
    lines.push(`${logLevel} ${JSON.stringify(message)} ${Cause.pretty(cause)}`)
    if (cause.reasons.length > 0) failures.push(Cause.squash(cause))
  })
  return { failures, lines, logger }
}

describe("EventualResult", () => {
  it.effect("wait() timing out does not cancel: waiting again gets the result", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      const result = reactor.runInReactor(Effect.sleep("10 seconds").pipe(Effect.as("done")))
      const first = result.wait({ timeout: "1 second" }).then(() => undefined, (error) => error)
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.promise(() => first)
      expect(error).toBeInstanceOf(TimeoutError)
      expect(error.message).toContain("the work goes on")
      expect(result.poll()).toBeUndefined()
      const second = result.wait()
      yield* TestClock.adjust("9 seconds")
      expect(yield* Effect.promise(() => second)).toBe("done")
      expect(result.poll()).toEqual(Exit.succeed("done"))
    }))

  it("every wait gets the same error, and originalFailure gives the full Cause", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const result = reactor.runInReactor(Effect.sleep(1).pipe(Effect.andThen(Effect.fail(new Boom({ code: 1 })))))
    expect(result.originalFailure()).toBeUndefined()
    const [a, b] = await Promise.all([rejection(result.wait()), rejection(result.wait())])
    const c = await rejection(result.wait())
    expect(a).toBeInstanceOf(Boom)
    expect(a).toBe(b)
    expect(a).toBe(c)
    expect(Cause.squash(result.originalFailure()!)).toBe(a)
    expect(reactor.runInReactor(Effect.succeed(1)).originalFailure()).toBeUndefined()
    await reactor.shutdown()
  })

  it("cancel() interrupts the work once; waiters get Cancelled with the Cause", async () => {
    const reactor = Reactor.setup(Layer.empty)
    let interruptions = 0
    const result = reactor.runInReactor(
      Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interruptions++)))
    )
    const waiting = rejection(result.wait())
    result.cancel()
    result.cancel()
    const error = await waiting
    expect(error).toBeInstanceOf(Cancelled)
    expect(Cause.hasInterrupts(error.cause)).toBe(true)
    expect(interruptions).toBe(1)
    expect(await rejection(result.wait())).toBe(error)
    const done = reactor.runInReactor(Effect.succeed(7))
    done.cancel()
    expect(await done.wait()).toBe(7)
    await reactor.shutdown()
  })

  it("an aborted wait leaves the work running", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const gate = Deferred.makeUnsafe<number>()
    const result = reactor.runInReactor(Deferred.await(gate))
    const controller = new AbortController()
    const waiting = rejection(result.wait({ signal: controller.signal }))
    controller.abort()
    expect(await waiting).toBeInstanceOf(Aborted)
    Deferred.doneUnsafe(gate, Exit.succeed(3))
    expect(await result.wait()).toBe(3)
    await reactor.shutdown()
  })

  it("bad wait options reject with InvalidArgument", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const result = reactor.runInReactor(Effect.never)
    expect(await rejection(result.wait({ timeout: -5 }))).toBeInstanceOf(InvalidArgument)
    result.cancel()
    await reactor.shutdown()
  })

  it.effect("can be yielded in Effect code, keeping the failure's Cause", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      const ok = reactor.runInReactor(Effect.succeed(5))
      expect(yield* ok).toBe(5)
      const failed = reactor.runInReactor(Effect.fail(new Boom({ code: 2 })))
      const exit = yield* Effect.exit(failed)
      expect(exit).toEqual(Exit.fail(new Boom({ code: 2 })))
      const cancelled = reactor.runInReactor(Effect.never)
      cancelled.cancel()
      const error = yield* Effect.flip(cancelled)
      expect(error).toBeInstanceOf(Cancelled)
    }))

  it("runInReactor(fn) wraps a function like waitFor(fn)", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const add = (a: number, b: number) => Effect.succeed(a + b)
    const start = reactor.runInReactor(add)
    expect(start.name).toBe("add")
    expect(start.length).toBe(2)
    expect(start.wrapped).toBe(add)
    expect(await start(1, 2).wait()).toBe(3)
    await reactor.shutdown()
  })
})

describe("stash and retrieve", () => {
  it("returns a stashed result exactly once", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const result = reactor.runInReactor(Effect.sleep(1).pipe(Effect.as("page")))
    const id = result.stash()
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const retrieved = reactor.retrieve(id)
    expect(retrieved).toBe(result)
    expect(await retrieved.wait()).toBe("page")
    expect(() => reactor.retrieve(id)).toThrow(ResultNotFound)
    expect(() => reactor.retrieve("no-such-id")).toThrow(/no-such-id/)
    expect(() => reactor.retrieve(42 as never)).toThrow(InvalidArgument)
    await reactor.shutdown()
  })

  it("logs failed results that were stashed and never retrieved, at shutdown", async () => {
    const { lines, logger } = recordingLogger()
    const reactor = Reactor.setup(Layer.empty, { logger })
    reactor.runInReactor(Effect.fail(new Boom({ code: 3 }))).stash()
    reactor.runInReactor(Effect.succeed("fine")).stash()
    await reactor.shutdown()
    const unhandled = lines.filter((line) => line.includes("Unhandled error in EventualResult"))
    expect(unhandled).toHaveLength(1)
    expect(unhandled[0]).toContain("never retrieved")
    expect(unhandled[0]).toContain("Boom")
  })
})

describe("unobserved failures", () => {
  it("logs a failed result that is garbage-collected before anyone looked at it", async () => {
    const { failures, lines, logger } = recordingLogger()
    const reactor = Reactor.setup(Layer.empty, { logger })
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc, "tests run with --expose-gc").toBeTypeOf("function")
    ;(() => {
      reactor.runInReactor(Effect.fail(new Boom({ code: 4 })))
      reactor.runInReactor(Effect.fail(new Boom({ code: 5 }))).poll()
    })()
    // FinalizationRegistry callbacks run after a collection, on a later turn of the event loop.
    for (let attempt = 0; attempt < 50 && lines.length === 0; attempt++) {
      gc!()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("Unhandled error in EventualResult")
    expect(failures).toEqual([new Boom({ code: 4 })])
    await reactor.shutdown()
  })

  it("also logs a failed result that was stashed, retrieved, then dropped unobserved", async () => {
    const { failures, logger } = recordingLogger()
    const reactor = Reactor.setup(Layer.empty, { logger })
    const id = reactor.runInReactor(Effect.fail(new Boom({ code: 8 }))).stash()
    ;(() => {
      reactor.retrieve(id)
    })()
    for (let attempt = 0; attempt < 50 && failures.length === 0; attempt++) {
      ;(globalThis as { gc?: () => void }).gc!()
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(failures).toEqual([new Boom({ code: 8 })])
    await reactor.shutdown()
  })
})

describe("EventualResult.all and race", () => {
  it("all gathers values in order and cancels every part when cancelled", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const both = EventualResult.all([
      reactor.runInReactor(Effect.sleep(2).pipe(Effect.as(1))),
      reactor.runInReactor(Effect.succeed("two"))
    ])
    expect(await both.wait()).toEqual([1, "two"])
    const parts = [reactor.runInReactor(Effect.never), reactor.runInReactor(Effect.never)] as const
    const gathered = EventualResult.all(parts)
    gathered.cancel()
    expect(await rejection(gathered.wait())).toBeInstanceOf(Cancelled)
    for (const part of parts) expect(await rejection(part.wait())).toBeInstanceOf(Cancelled)
    const failing = EventualResult.all([reactor.runInReactor(Effect.fail(new Boom({ code: 6 })))])
    expect(await rejection(failing.wait())).toBeInstanceOf(Boom)
    expect(() => EventualResult.all([])).toThrow(InvalidArgument)
    await reactor.shutdown()
  })

  it("race takes the first success and cancels the rest", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const slow = reactor.runInReactor(Effect.never)
    const failing = reactor.runInReactor(Effect.fail(new Boom({ code: 7 })))
    const fast = reactor.runInReactor(Effect.sleep(2).pipe(Effect.as("fast")))
    expect(await EventualResult.race([slow, failing, fast]).wait()).toBe("fast")
    expect(await rejection(slow.wait())).toBeInstanceOf(Cancelled)
    await reactor.shutdown()
  })
})

describe("runInReactor(fn) whose fn throws", () => {
  it("returns a failed EventualResult whose wait() rejects with the thrown error itself", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const thrown = new RangeError("bad input")
    const start = reactor.runInReactor((_n: number): Effect.Effect<number> => {
      throw thrown
    })
    const result = start(1)
    expect(EventualResult.isEventualResult(result)).toBe(true)
    expect(await rejection(result.wait())).toBe(thrown)
    expect(await rejection(result.wait())).toBe(thrown)
    expect(Cause.squash(result.originalFailure()!)).toBe(thrown)
    await reactor.shutdown()
  })
})

describe("a logger that throws", () => {
  it("never fails the user's work: the line is dropped, reported once on stderr, and logging goes on", async () => {
    const lines: Array<string> = []
    let calls = 0
    const logger = Logger.make<unknown, void>(({ message }) => {
      if (calls++ === 0) throw new Error("the log sink is down")
      lines.push(String(message))
    })
    const stderr: Array<string> = []
    const original = console.error
    console.error = (...args: Array<unknown>) => void stderr.push(args.map(String).join(" "))
    try {
      const reactor = Reactor.setup(Layer.empty, { logger })
      const work = Effect.log("first").pipe(Effect.andThen(Effect.log("second")), Effect.as(42))
      expect(await reactor.waitFor(work)).toBe(42)
      expect(await reactor.waitFor(Effect.log("third").pipe(Effect.as(43)))).toBe(43)
      expect(lines).toEqual(["second", "third"])
      calls = 0
      expect(await reactor.waitFor(work)).toBe(42)
      await reactor.shutdown()
    } finally {
      console.error = original
    }
    expect(stderr).toHaveLength(1)
    expect(stderr[0]).toContain("the log sink is down")
  })
})
