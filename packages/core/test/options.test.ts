import { it as effectIt } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkOptions } from "../src/Bridge.ts"
import { InvalidArgument, Reactor } from "../src/index.ts"

const settle = (run: () => unknown): Promise<unknown> =>
  Promise.resolve().then(run).then(() => undefined, (error: unknown) => error)

/** The error of a call that must refuse its options, whether it throws or rejects. */
const refusal = async (run: () => unknown): Promise<InvalidArgument> => {
  const error = await settle(run)
  expect(error).toBeInstanceOf(InvalidArgument)
  return error as InvalidArgument
}

/** One edit (insert, delete, replace, swap) of a key: what a typo looks like. */
const typoOf = (key: string) =>
  fc.tuple(
    fc.integer({ min: 0, max: key.length - 1 }),
    fc.constantFrom("insert", "delete", "replace", "swap"),
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz")
  )
    .map(([at, edit, letter]) => {
      switch (edit) {
        case "insert":
          return key.slice(0, at) + letter + key.slice(at)
        case "delete":
          return key.slice(0, at) + key.slice(at + 1)
        case "replace":
          return key.slice(0, at) + letter + key.slice(at + 1)
        default:
          return at + 1 < key.length ? key.slice(0, at) + key[at + 1] + key[at] + key.slice(at + 2) : key + letter
      }
    })

const waitForKeys = ["timeout", "signal", "spanName"]

describe("checkOptions (fast-check over random keys)", () => {
  it("any key it does not know is InvalidArgument naming that key and listing the known ones", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((key) => !waitForKeys.includes(key)), (key) => {
        expect(() => checkOptions({ [key]: 1 }, waitForKeys, "waitFor")).toThrow(InvalidArgument)
        try {
          checkOptions({ [key]: 1 }, waitForKeys, "waitFor")
        } catch (error) {
          const message = (error as InvalidArgument).message
          expect(message).toContain(`waitFor: unknown option \`${key}\``)
          for (const known of waitForKeys) expect(message).toContain(`\`${known}\``)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("a one-letter typo of a known key is answered with that key (or one as near)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...waitForKeys).chain((key) => fc.tuple(fc.constant(key), typoOf(key))),
        ([key, typo]) => {
          fc.pre(!waitForKeys.includes(typo))
          const message = (() => {
            try {
              checkOptions({ [typo]: 1 }, waitForKeys, "waitFor")
              return ""
            } catch (error) {
              return (error as InvalidArgument).message
            }
          })()
          expect(message).toMatch(/did you mean `(\w+)`\?/)
          const suggested = /did you mean `(\w+)`\?/.exec(message)![1]!
          // The intended key, unless the typo happens to be as near another one.
          if (suggested !== key) expect(waitForKeys).toContain(suggested)
          if (typo.length >= 4 && key.toLowerCase() !== "signal") expect(suggested).toBe(key)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("known keys, undefined and an empty object pass; non-objects are refused", () => {
    expect(checkOptions(undefined, waitForKeys, "waitFor")).toBeUndefined()
    expect(checkOptions({}, waitForKeys, "waitFor")).toEqual({})
    expect(checkOptions({ timeout: 1, signal: undefined }, waitForKeys, "waitFor")).toEqual({
      timeout: 1,
      signal: undefined
    })
    for (const bad of [null, 5, "5 seconds", [], () => 1]) {
      expect(() => checkOptions(bad, waitForKeys, "waitFor")).toThrow(
        /options must be an object with the keys `timeout`/
      )
    }
  })

  it("suggests across case and prefixes; suggests nothing for a key unlike any", () => {
    const message = (key: string) => {
      try {
        checkOptions({ [key]: 1 }, ["shutdownTimeout", "drain", "logLevel"], "Reactor.setup")
      } catch (error) {
        return (error as InvalidArgument).message
      }
    }
    expect(message("shutdowntimeout")).toContain("did you mean `shutdownTimeout`?")
    expect(message("drian")).toContain("did you mean `drain`?")
    expect(message("loglevel")).toContain("did you mean `logLevel`?")
    expect(message("timeout")).toContain("did you mean `shutdownTimeout`?")
    expect(message("colour")).toBe(
      "Reactor.setup: unknown option `colour`. The options are `shutdownTimeout`, `drain`, `logLevel`."
    )
  })
})

describe("every core call refuses a misspelt option", () => {
  const typo = { timout: "1 second" } as never

  it("waitFor(effect) rejects instead of waiting for ever", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const error = await refusal(() => reactor.waitFor(Effect.never, typo))
    expect(error.message).toBe(
      "waitFor: unknown option `timout`; did you mean `timeout`? The options are `timeout`, `signal`, `spanName`."
    )
    await reactor.shutdown()
  })

  it("waitFor(fn), waitForMethod, runInReactor (effect and fn), wait, setup", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const lookup = (name: string) => Effect.succeed(name)
    expect((await refusal(() => reactor.waitFor(lookup, typo))).message).toMatch(
      /^waitFor\(lookup\): unknown option `timout`; did you mean `timeout`\?/
    )
    expect((await refusal(() => reactor.waitForMethod(typo))).message).toMatch(
      /^waitForMethod: .*did you mean `timeout`\?/
    )
    expect((await refusal(() => reactor.runInReactor(Effect.void, typo))).message).toMatch(
      /^runInReactor: .*did you mean `timeout`\?/
    )
    expect((await refusal(() => reactor.runInReactor(lookup, typo))).message).toMatch(
      /^runInReactor\(lookup\): .*did you mean `timeout`\?/
    )
    const result = reactor.runInReactor(Effect.never)
    expect((await refusal(() => result.wait(typo))).message).toMatch(
      /^EventualResult.wait: .*did you mean `timeout`\? The options are `timeout`, `signal`\.$/
    )
    // waitFor's span name is not a wait option
    expect((await refusal(() => result.wait({ spanName: "x" } as never))).message).toMatch(/unknown option `spanName`/)
    expect((await refusal(() => Reactor.setup(Layer.empty, { drian: "1 second" } as never))).message).toMatch(
      /^Reactor.setup: unknown option `drian`; did you mean `drain`\?/
    )
    expect(() => reactor.runCallback(Effect.void, { onExit: () => {}, timout: "1 second" } as never)).toThrow(
      /^runCallback: unknown option `timout`; did you mean `timeout`\?/
    )
    result.cancel()
    await reactor.shutdown()
  })

  it("a misspelt duration unit is answered with the units", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const error = await refusal(() => reactor.waitFor(Effect.void, { timeout: "1 secnd" } as never))
    expect(error.message).toBe(
      "waitFor: options.timeout must be a Duration.Input such as \"5 seconds\", 5000 (milliseconds) or " +
        "Duration.seconds(5); got \"1 secnd\" (not a duration: write a number and a unit, the units being " +
        "nanos, micros, millis, seconds, minutes, hours, days and weeks)."
    )
    await reactor.shutdown()
  })

  effectIt.effect("make", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.try({
        try: () => Reactor.make({ shutdowntimeout: "1 second" } as never),
        catch: (error) => error as InvalidArgument
      }))
      expect(error.message).toMatch(/^Reactor.make: unknown option `shutdowntimeout`; did you mean `shutdownTimeout`\?/)
    }))

  effectIt.effect("runInReactor(fn, options) applies the options to every call", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      const start = reactor.runInReactor(() => Effect.never, { timeout: "5 seconds" })
      const outcome = settle(() => start().wait())
      yield* TestClock.adjust("5 seconds")
      expect(yield* Effect.promise(() => outcome)).toMatchObject({ _tag: "TimeoutError" })
    }))

  it("Reactor.optionKeys names every ReactorOptions key (a wrapper's check uses it)", () => {
    const all: Required<Reactor.ReactorOptions> = {
      drain: 0,
      shutdownTimeout: 0,
      logLevel: "Error",
      logger: undefined as never,
      resultStore: undefined as never,
      name: "x"
    }
    expect([...Reactor.optionKeys].sort()).toEqual(Object.keys(all).sort())
  })
})
