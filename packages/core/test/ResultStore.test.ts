import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Cause, Data, Effect, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  type EventualResult,
  InvalidArgument,
  Reactor,
  ReactorStopped,
  ResultNotFound,
  ResultStore
} from "../src/index.ts"
import { rejection } from "./helpers.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly code: number }> {}

const recordingLogger = () => {
  const lines: Array<string> = []
  const logger = Logger.make<unknown, void>(({ cause, message }) => {
    lines.push(`${JSON.stringify(message)} ${Cause.pretty(cause)}`)
  })
  return { lines, logger }
}

/** A reactor on the test's context (so its Clock is the TestClock) with a memory store of these options. */
const reactorWith = (options?: ResultStore.MemoryOptions, logger?: Logger.Logger<unknown, void>) =>
  Reactor.make({ resultStore: ResultStore.memory(options), logger, logLevel: "Debug" })

describe("typed ids", () => {
  it("stash() gives a plain string id whose type brings the result's type back through retrieve", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const id = reactor.runInReactor(Effect.fail(new Boom({ code: 7 })).pipe(Effect.as({ pages: 3 }))).stash()
    expectTypeOf(id).toEqualTypeOf<EventualResult.StashId<{ pages: number }, Boom>>()
    expect(typeof id).toBe("string")
    const cookie = `download=${id}` // what a server sets, and gets back as a plain string
    const back = cookie.slice("download=".length)
    const plain = (raw: string) => reactor.retrieve(raw) // not called: only its type is looked at
    expectTypeOf(plain).returns.toEqualTypeOf<EventualResult.EventualResult<unknown, unknown>>()
    const retrieved = reactor.retrieve(back as typeof id)
    expectTypeOf(retrieved).toEqualTypeOf<EventualResult.EventualResult<{ pages: number }, Boom>>()
    expect(await rejection(retrieved.wait())).toEqual(new Boom({ code: 7 }))
    await reactor.shutdown()
  })
})

describe("ResultStore.memory", () => {
  it.effect("a stashed result can be retrieved until its ttl has passed on the reactor's Clock", () =>
    Effect.gen(function*() {
      const reactor = yield* reactorWith({ ttl: "10 minutes" })
      const early = reactor.runInReactor(Effect.succeed("early")).stash()
      const late = reactor.runInReactor(Effect.succeed("late")).stash()
      yield* TestClock.adjust("9 minutes")
      expect(yield* Effect.promise(() => reactor.retrieve(early).wait())).toBe("early")
      yield* TestClock.adjust("1 minute")
      expect(() => reactor.retrieve(late)).toThrow(ResultNotFound)
    }))

  it.effect("the default ttl is 1 hour", () =>
    Effect.gen(function*() {
      const reactor = yield* reactorWith()
      const ids = [reactor.runInReactor(Effect.succeed(1)).stash(), reactor.runInReactor(Effect.succeed(2)).stash()]
      yield* TestClock.adjust("59 minutes")
      expect(yield* Effect.promise(() => reactor.retrieve(ids[0]!).wait())).toBe(1)
      yield* TestClock.adjust("1 minute")
      expect(() => reactor.retrieve(ids[1]!)).toThrow(ResultNotFound)
    }))

  it.effect("a result still running when it expires is cancelled: nobody can retrieve it any more", () =>
    Effect.gen(function*() {
      const reactor = yield* reactorWith({ ttl: "1 minute" })
      let interrupted = false
      const result = reactor.runInReactor(Effect.never.pipe(Effect.onInterrupt(() =>
        Effect.sync(() => {
          interrupted = true
        })
      )))
      result.stash()
      yield* TestClock.adjust("1 minute")
      expect(yield* Effect.promise(() => rejection(result.wait()))).toMatchObject({ _tag: "Cancelled" })
      expect(interrupted).toBe(true)
    }))

  it.effect("an expired failure nobody saw is logged, once; an expired success is not", () =>
    Effect.gen(function*() {
      const { lines, logger } = recordingLogger()
      const reactor = yield* reactorWith({ ttl: "1 minute" }, logger)
      reactor.runInReactor(Effect.fail(new Boom({ code: 7 }))).stash()
      reactor.runInReactor(Effect.succeed("fine")).stash()
      yield* TestClock.adjust("1 minute")
      yield* Effect.yieldNow
      const expired = lines.filter((line) => line.includes("expired unretrieved"))
      expect(expired).toHaveLength(1)
      expect(expired[0]).toContain("Boom")
      expect(expired[0]).toContain("ttl (1m)")
    }))

  it.effect("maxEntries: stashing one more drops the oldest, as if it expired", () =>
    Effect.gen(function*() {
      const { lines, logger } = recordingLogger()
      const reactor = yield* reactorWith({ maxEntries: 2 }, logger)
      const oldest = reactor.runInReactor(Effect.fail(new Boom({ code: 1 }))).stash()
      const middle = reactor.runInReactor(Effect.succeed("middle")).stash()
      const newest = reactor.runInReactor(Effect.succeed("newest")).stash()
      yield* Effect.yieldNow
      expect(() => reactor.retrieve(oldest)).toThrow(ResultNotFound)
      expect(lines.filter((line) => line.includes("at most maxEntries (2)"))).toHaveLength(1)
      expect(yield* Effect.promise(() => reactor.retrieve(middle).wait())).toBe("middle")
      expect(yield* Effect.promise(() => reactor.retrieve(newest).wait())).toBe("newest")
    }))

  it.effect("expiry keeps up with stashes made while it sleeps, and stops when the store is empty", () =>
    Effect.gen(function*() {
      const reactor = yield* reactorWith({ ttl: "10 seconds" })
      const first = reactor.runInReactor(Effect.succeed(1)).stash()
      yield* TestClock.adjust("5 seconds")
      const second = reactor.runInReactor(Effect.succeed(2)).stash()
      yield* TestClock.adjust("5 seconds")
      expect(() => reactor.retrieve(first)).toThrow(ResultNotFound)
      expect(yield* Effect.promise(() => reactor.retrieve(second).wait())).toBe(2)
      yield* TestClock.adjust("1 hour")
      const third = reactor.runInReactor(Effect.succeed(3)).stash()
      yield* TestClock.adjust("9 seconds")
      expect(yield* Effect.promise(() => reactor.retrieve(third).wait())).toBe(3)
    }))

  it("bad options throw InvalidArgument", () => {
    expect(() => ResultStore.memory({ ttl: "soon" as never })).toThrow(InvalidArgument)
    expect(() => ResultStore.memory({ ttl: 0 })).toThrow(/longer than zero/)
    expect(() => ResultStore.memory({ maxEntries: 0 })).toThrow(/maxEntries/)
    expect(() => ResultStore.memory({ maxEntries: 1.5 })).toThrow(/maxEntries/)
  })

  it("an id that cannot be one of ours fails at once, and the message quotes only its start", async () => {
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void))
    const huge = "x".repeat(1_000_000)
    let error: unknown
    try {
      reactor.retrieve(huge)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ResultNotFound)
    const { id, message } = error as ResultNotFound
    expect(message.length).toBeLessThan(400)
    expect(message).toContain("1000000 characters")
    expect(id).toHaveLength(65)
    expect(() => reactor.retrieve("not-a-uuid")).toThrow(/"not-a-uuid"/)
    await reactor.shutdown()
  })

  it("a stashed result nobody retrieves does not keep a finished program alive", () => {
    const core = new URL("../src/index.ts", import.meta.url).href
    const program = [
      `import { Effect, Layer } from "effect"`,
      `import { Reactor } from ${JSON.stringify(core)}`,
      `const reactor = Reactor.setup(Layer.empty)`,
      `reactor.runInReactor(Effect.succeed("never retrieved")).stash()`,
      `await reactor.waitFor(Effect.void)`,
      `console.log("end of program")`
    ].join("\n")
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      encoding: "utf8",
      timeout: 15_000
    })
    expect(run.stderr).toBe("")
    expect(run.stdout).toBe("end of program\n")
    // Killed by the timeout (signal set, no status) if the ttl's timer (1 hour) kept it alive.
    expect(run.signal).toBeNull()
    expect(run.status).toBe(0)
  }, 20_000)
})

describe("for store authors", () => {
  it("whenDone calls the listener once with the Exit poll() gives: at once when done, else when the work ends", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const seen: Array<string> = []
    ResultStore.whenDone(reactor.runInReactor(Effect.succeed(1)), (exit) => seen.push(`done: ${exit._tag}`))
    expect(seen).toEqual(["done: Success"])
    let release!: () => void
    const later = reactor.runInReactor(
      Effect.andThen(
        Effect.promise(() => new Promise<void>((resolve) => (release = resolve))),
        Effect.fail(new Boom({ code: 1 }))
      )
    )
    ResultStore.whenDone(later, (exit) => seen.push(`later: ${exit._tag} ${exit === later.poll()}`))
    expect(seen).toEqual(["done: Success"])
    release()
    await rejection(later.wait())
    expect(seen).toEqual(["done: Success", "later: Failure true"])
    await reactor.shutdown()
  })

  it("whenDone hears the shutdown's Exit of work the reactor stopped", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const running = reactor.runInReactor(Effect.never)
    const exits: Array<string> = []
    ResultStore.whenDone(running, (exit) => exits.push(exit._tag))
    await reactor.shutdown()
    expect(exits).toEqual(["Failure"])
    expect(await rejection(running.wait())).toBeInstanceOf(ReactorStopped)
  })

  it("whenDone awaits a handle made elsewhere with a fiber of its own", async () => {
    const elsewhere = Effect.fail(new Boom({ code: 2 })) as unknown as EventualResult.EventualResult<never, Boom>
    const exit = await new Promise<unknown>((resolve) => ResultStore.whenDone(elsewhere, resolve))
    expect(exit).toMatchObject({ _tag: "Failure" })
  })

  it("contextOf gives the reactor's logger, usable while it shuts down", async () => {
    const { lines, logger } = recordingLogger()
    const reactor = Reactor.setup(Layer.empty, { logger, logLevel: "Warn" })
    const result = reactor.runInReactor(Effect.never)
    ResultStore.whenDone(result, () => {
      Effect.runForkWith(ResultStore.contextOf(result)!)(Effect.logWarning("heard at shutdown"))
    })
    await reactor.shutdown()
    expect(lines.filter((line) => line.includes("heard at shutdown"))).toHaveLength(1)
  })
})
