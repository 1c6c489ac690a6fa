import { Duration, Effect, Layer } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvalidArgument, Reactor, ResultNotFound, TimeoutError } from "../src/index.ts"

/** Anything a caller might pass as a duration, well-formed or not. */
const durationLike = fc.oneof(
  fc.double(),
  fc.integer({ min: -10_000, max: 10_000 }),
  fc.constantFrom(
    "5 seconds",
    "1 milli",
    "0 millis",
    "Infinity",
    "-Infinity",
    "soon",
    "",
    "5",
    "-1 seconds",
    "1e3 millis"
  ),
  fc.string(),
  fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 })),
  fc.record({ seconds: fc.oneof(fc.double(), fc.string()), millis: fc.double() }, { requiredKeys: [] }),
  fc.constantFrom(null, true, false, Symbol("x"), () => 1, [], {}),
  fc.bigInt({ min: -10n, max: 10_000_000n })
)

const units = ["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"]

/** What a well-formed, non-negative duration is, by Effect's own decoding (NaN excluded). */
const isGood = (input: unknown): boolean => {
  if (typeof input === "number" && Number.isNaN(input)) return false
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    if (!Object.values(input).every((value) => typeof value === "number" && !Number.isNaN(value))) return false
    // only the fields of Duration.DurationObject
    if (!Object.keys(input).every((key) => units.includes(key))) return false
  }
  const decoded = Duration.fromInput(input as Duration.Input)
  return decoded._tag === "Some" && !Duration.isNegative(decoded.value)
}

const settle = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: unknown) => ({ error }))

describe("random input (fast-check)", () => {
  it("a timeout either works or is refused with InvalidArgument at the call — never a hang or a crash", async () => {
    const reactor = Reactor.setup(Layer.empty)
    await fc.assert(
      fc.asyncProperty(durationLike, async (timeout) => {
        const outcome = await settle(reactor.waitFor(Effect.succeed("ok"), { timeout } as never))
        if (isGood(timeout)) expect(outcome).toEqual({ value: "ok" })
        else expect((outcome as { error: unknown }).error).toBeInstanceOf(InvalidArgument)
      }),
      { numRuns: 500 }
    )
    await reactor.shutdown()
  })

  it("a wait's timeout on pending work: TimeoutError, InvalidArgument or the value", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const result = reactor.runInReactor(Effect.sleep("50 millis").pipe(Effect.as("done")))
    await fc.assert(
      fc.asyncProperty(fc.oneof(durationLike, fc.integer({ min: 0, max: 3 })), async (timeout) => {
        const outcome = await settle(result.wait({ timeout } as never))
        if ("value" in outcome) expect(outcome.value).toBe("done")
        else expect([TimeoutError, InvalidArgument].some((type) => outcome.error instanceof type)).toBe(true)
      }),
      { numRuns: 200 }
    )
    expect(await result.wait()).toBe("done")
    await reactor.shutdown()
  })

  it("option objects of any shape: a value or InvalidArgument", async () => {
    const reactor = Reactor.setup(Layer.empty)
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (options) => {
        const outcome = await settle(reactor.waitFor(Effect.succeed(1), options as never))
        if ("error" in outcome) expect(outcome.error).toBeInstanceOf(InvalidArgument)
        else expect(outcome.value).toBe(1)
      }),
      { numRuns: 500 }
    )
    await reactor.shutdown()
  })

  it("random ids for retrieve: ResultNotFound (or InvalidArgument for non-strings), and real ids once", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const stashed = new Set<string>(Array.from({ length: 20 }, () => reactor.runInReactor(Effect.succeed(1)).stash()))
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uuid(), fc.anything()), (id) => {
        if (typeof id === "string" && stashed.has(id)) return
        expect(() => reactor.retrieve(id as string)).toThrow(typeof id === "string" ? ResultNotFound : InvalidArgument)
      }),
      { numRuns: 1000 }
    )
    for (const id of stashed) {
      expect(reactor.retrieve(id)).toBeDefined()
      expect(() => reactor.retrieve(id)).toThrow(ResultNotFound)
    }
    await reactor.shutdown()
  })

  it("values that are not Effects: InvalidArgument from waitFor and runInReactor", async () => {
    const reactor = Reactor.setup(Layer.empty)
    await fc.assert(
      fc.asyncProperty(
        fc.anything().filter((value) => typeof value !== "function" && !Effect.isEffect(value)),
        async (value) => {
          expect((await settle(reactor.waitFor(value as never)) as { error: unknown }).error).toBeInstanceOf(
            InvalidArgument
          )
          expect(() => reactor.runInReactor(value as never)).toThrow(InvalidArgument)
        }
      ),
      { numRuns: 300 }
    )
    await reactor.shutdown()
  })
})
