/**
 * A failed Exit's Cause as data and back, as every bridge carries it: the
 * error a caller gets after the trip must be the one an in-process caller
 * gets, whatever the framing, and untrusted input must never throw.
 */
import { Cause, Data, Duration, Effect, Layer } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { outsideError, stopCause } from "../src/Bridge.ts"
import * as EncodedCause from "../src/EncodedCause.ts"
import {
  Cancelled,
  causeOf,
  InvalidArgument,
  NonErrorFailure,
  Reactor,
  ReactorStopped,
  TimeoutError
} from "../src/index.ts"

class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string; readonly user: number }> {}
class Wrapped extends Data.TaggedError("Wrapped")<{ readonly message: string; readonly cause: unknown }> {}
/** A class whose name is not its tag. */
class QuotaError extends Data.TaggedError("Quota")<{ readonly message: string }> {}
class PlainError extends Error {
  override name = "PlainError"
}

const classes = EncodedCause.errorClasses([NotFound, Wrapped, QuotaError, PlainError], "errors")

/** Through a framing, as a bridge does: a structured clone for threads, a JSON text for Redis. */
const framings = {
  structuredClone: (cause: Cause.Cause<unknown>) =>
    EncodedCause.decode(structuredClone(EncodedCause.encode(cause, { leaves: "structuredClone" })), classes),
  json: (cause: Cause.Cause<unknown>) => {
    const decoded = EncodedCause.decodeUnknown(
      JSON.parse(JSON.stringify(EncodedCause.encode(cause, { leaves: "json" }))),
      classes
    )
    if (decoded instanceof EncodedCause.MalformedCause) throw decoded
    return decoded
  }
} as const

/** What a caller can see of an error, as plain data. */
const seen = (error: any): Record<string, unknown> => ({
  constructor: error.constructor,
  name: error.name,
  message: error.message,
  headline: String(error.stack).split("\n")[0],
  fields: { ...error },
  cause: error.cause === undefined || Cause.isCause(error.cause) ? undefined : seen(error.cause),
  reasons: causeOf(error)?.reasons.map((reason) => reason._tag)
})

/** The failed Exit's Cause of `effect` run in `reactor`. */
const causeOfRun = async (
  reactor: Reactor.Reactor<never>,
  effect: Effect.Effect<unknown, unknown>,
  timeout?: string
) => {
  const result = reactor.runInReactor(effect, timeout === undefined ? undefined : { timeout: timeout as "1 second" })
  await result.wait().catch(() => undefined)
  return result.poll()!._tag === "Failure"
    ? (result.poll() as { readonly cause: Cause.Cause<unknown> }).cause
    : Cause.empty
}

describe("EncodedCause", () => {
  for (const [framing, trip] of Object.entries(framings)) {
    describe(`through ${framing}`, () => {
      it("the caller gets the error an in-process caller gets: class, name, fields, cause chain, span trace, causeOf", async () => {
        const reactor = Reactor.setup(Layer.empty)
        const lookup = Effect.fn("lookup")(function*(user: number) {
          return yield* new NotFound({ message: `no user ${user}`, user })
        })
        const cases: Array<Effect.Effect<unknown, unknown>> = [
          lookup(7),
          Effect.fail(
            new Wrapped({ message: "outer", cause: new RangeError("inner", { cause: new PlainError("root") }) })
          ),
          Effect.die(new Error("outer defect", { cause: new TypeError("inner defect") })),
          Effect.die(new AggregateError([new TypeError("one")], "several failed")),
          Effect.failCause(
            Cause.combine(Cause.fail(new NotFound({ message: "first", user: 1 })), Cause.die(new TypeError("second")))
          ),
          Effect.fail(new PlainError("plain")),
          Effect.fail(new QuotaError({ message: "over quota" })),
          Effect.timeout(Effect.never, "1 milli"),
          Effect.fail({ code: 42 }),
          Effect.die("a string defect")
        ]
        for (const effect of cases) {
          const cause = await causeOfRun(reactor, effect)
          const there = outsideError(trip(cause))
          const here = outsideError(cause)
          expect(seen(there)).toEqual(seen(here))
          expect(/at lookup \(definition\)/.test(String(there.stack))).toBe(
            /at lookup \(definition\)/.test(String(here.stack))
          )
        }
        await reactor.shutdown()
      })

      it("the reactor's stop reasons come back with their details: timeout, abort, cancel, shutdown with its drain", async () => {
        const reactor = Reactor.setup(Layer.empty)
        const stops = [
          await causeOfRun(reactor, Effect.never, "30 millis"),
          stopCause({ _tag: "Abort", reason: new RangeError("the user left") }),
          stopCause({ _tag: "Cancel" }),
          stopCause({ _tag: "Stop", drain: Duration.seconds(2) }),
          stopCause({ _tag: "Stop", stuck: Duration.seconds(15) }),
          Cause.combine(stopCause({ _tag: "Stop" }), Cause.fail(new NotFound({ message: "from a finalizer", user: 3 })))
        ]
        for (const cause of stops) {
          const there = outsideError(trip(cause))
          const here = outsideError(cause)
          expect(seen(there)).toEqual(seen(here))
        }
        expect(outsideError(trip(stops[0]!))).toBeInstanceOf(TimeoutError)
        expect(outsideError(trip(stops[0]!)).message).toContain("timed out after 30ms")
        expect(outsideError(trip(stops[1]!))).toMatchObject({ _tag: "Aborted", reason: { name: "RangeError" } })
        expect(outsideError(trip(stops[2]!))).toBeInstanceOf(Cancelled)
        expect(outsideError(trip(stops[3]!)).message).toContain("within the drain (2s)")
        expect(outsideError(trip(stops[4]!)).message).toContain("shutdown timeout (15s)")
        // A shutdown that also met a failure (a finalizer's) is the shutdown's error, the failure in its Cause.
        expect(outsideError(trip(stops[5]!))).toBeInstanceOf(ReactorStopped)
        expect(causeOf(outsideError(trip(stops[5]!)))?.reasons.map((reason) => reason._tag)).toEqual([
          "Interrupt",
          "Fail"
        ])
        await reactor.shutdown()
      })

      it("the reasons stay in order, interruptions included", () => {
        const cause = Cause.fromReasons([
          Cause.makeDieReason(new TypeError("a")),
          Cause.makeInterruptReason(),
          Cause.makeFailReason("b")
        ])
        expect(trip(cause).reasons.map((reason) => reason._tag)).toEqual(["Die", "Interrupt", "Fail"])
        // The caller's error is the first failure (as Cause.squash picks it), the defect is in its Cause.
        expect(outsideError(trip(cause))).toMatchObject({ _tag: "NonErrorFailure", value: "b" })
      })

      it("an unregistered error is a plain Error with its name, message, _tag, fields and stack; JavaScript's and Effect's keep their class", () => {
        class Unknown extends Data.TaggedError("Unknown")<{ readonly message: string; readonly at: string }> {}
        const error = outsideError(trip(Cause.fail(new Unknown({ message: "who?", at: "here" }))))
        expect(Object.getPrototypeOf(error)).toBe(Error.prototype)
        expect(error).toMatchObject({ name: "Unknown", message: "who?", _tag: "Unknown", at: "here" })
        expect(error.stack?.split("\n")[0]).toBe("Unknown: who?")
        expect(outsideError(trip(Cause.die(new SyntaxError("bad"))))).toBeInstanceOf(SyntaxError)
        expect(outsideError(trip(Cause.fail(new Cause.NoSuchElementError("none"))))).toBeInstanceOf(
          Cause.NoSuchElementError
        )
        // The toolkit's own errors too, without registering them.
        expect(outsideError(trip(Cause.fail(new InvalidArgument("bad option"))))).toBeInstanceOf(InvalidArgument)
        expect(outsideError(trip(Cause.fail(new ReactorStopped({ message: "gone" }))))).toBeInstanceOf(ReactorStopped)
      })

      it("a chain of causes is carried 8 deep, then cut", () => {
        let error: Error = new Error("root")
        for (let depth = 0; depth < 12; depth++) error = new Error(`level ${depth}`, { cause: error })
        let back = outsideError(trip(Cause.die(error)))
        let links = 0
        while (back.cause instanceof Error) {
          back = back.cause
          links++
        }
        expect(links).toBe(8)
      })
    })
  }

  it("an error already made a caller's error (waited for) carries its span frames once", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const check = Effect.fn("checkStock")(function*() {
      return yield* new NotFound({ message: "out of tea", user: 0 })
    })
    const result = reactor.runInReactor(check())
    const error = await result.wait().catch((error: Error) => error)
    expect(error.stack?.match(/at checkStock \(definition\)/g)).toHaveLength(1)
    const encoded = EncodedCause.encode(result.originalFailure()!, { leaves: "json" })
    const stack = (encoded.reasons[0] as { readonly error: { readonly stack: string } }).error.stack
    expect(stack.match(/at checkStock \(definition\)/g)).toHaveLength(1)
    expect(stack).not.toContain("more failure(s)")
    await reactor.shutdown()
  })

  it("JSON leaves: what JSON.stringify would lose or throw on becomes a short description", () => {
    class Point {
      readonly x = 1
      norm() {
        return this.x
      }
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    class Odd extends Data.TaggedError("Odd")<Record<string, unknown>> {}
    const odd = new Odd({
      missing: undefined,
      nan: Number.NaN,
      infinite: -Infinity,
      big: 12n,
      date: new Date(0),
      point: new Point(),
      map: new Map([[1, 2]]),
      fn: function compute() {},
      symbol: Symbol("s"),
      cyclic,
      nested: { inner: [Number.NaN, undefined, 3n], error: new RangeError("deep") }
    })
    const encoded = EncodedCause.encode(Cause.fail(odd), { leaves: "json" })
    const fields = JSON.parse(JSON.stringify(encoded)).reasons[0].error.fields
    expect(fields).toEqual({
      _tag: "Odd",
      nan: "NaN",
      infinite: "-Infinity",
      big: "12n",
      date: "1970-01-01T00:00:00.000Z",
      point: { x: 1 },
      map: "[Map of 1]",
      fn: "[function compute]",
      symbol: "Symbol(s)",
      cyclic: expect.stringMatching(/^\[Object \(not JSON: .*circular/),
      nested: { inner: ["NaN", null, "3n"], error: "RangeError: deep" }
    })
    expect("missing" in fields).toBe(false)
    // A failure that is not an error is a leaf too; undefined stays undefined.
    const values = EncodedCause.encode(Cause.combine(Cause.fail(10n), Cause.fail(undefined)), { leaves: "json" })
    const back = EncodedCause.decodeUnknown(JSON.parse(JSON.stringify(values)), classes) as Cause.Cause<unknown>
    expect(back.reasons.map((reason) => reason._tag === "Fail" && reason.error)).toEqual(["10n", undefined])
  })

  it("structured-clone leaves: what structured clone refuses becomes a description; the rest is kept as it is", () => {
    class Odd extends Data.TaggedError("Odd")<Record<string, unknown>> {}
    const encoded = EncodedCause.encode(
      Cause.fail(new Odd({ fn: () => 1, big: 12n, date: new Date(0), map: new Map([[1, 2]]), nan: Number.NaN })),
      { leaves: "structuredClone" }
    )
    const reason = structuredClone(encoded).reasons[0] as {
      readonly error: { readonly fields: Record<string, unknown> }
    }
    expect(reason.error.fields).toEqual({
      _tag: "Odd",
      fn: "[function fn]",
      big: 12n,
      date: new Date(0),
      map: new Map([[1, 2]]),
      nan: Number.NaN
    })
  })

  it("an error whose getters throw is encoded as a description, never a thrown error", () => {
    const hostile = new Error("hostile")
    Object.defineProperty(hostile, "field", {
      enumerable: true,
      get: () => {
        throw new Error("no")
      }
    })
    const encoded = EncodedCause.encode(Cause.die(hostile), { leaves: "json" })
    expect(encoded.reasons[0]).toMatchObject({
      _tag: "Die",
      defect: { _tag: "Value", value: expect.stringContaining("could not be read") }
    })
  })

  describe("decodeUnknown (input from outside the process)", () => {
    it("never throws: any JSON value is a Cause or a MalformedCause (fast-check)", () => {
      const reason = fc.oneof(
        fc.record({
          _tag: fc.constantFrom("Fail", "Die", "Interrupt", "Other"),
          error: fc.jsonValue(),
          defect: fc.jsonValue()
        }),
        fc.jsonValue()
      )
      const cause = fc.oneof(
        fc.jsonValue(),
        fc.record({ reasons: fc.array(reason), stop: fc.jsonValue(), pretty: fc.oneof(fc.string(), fc.jsonValue()) })
      )
      fc.assert(
        fc.property(cause, (input) => {
          const decoded = EncodedCause.decodeUnknown(input, classes)
          expect(decoded instanceof EncodedCause.MalformedCause || Cause.isCause(decoded)).toBe(true)
          if (Cause.isCause(decoded)) expect(outsideError(decoded)).toBeInstanceOf(Error)
        }),
        { numRuns: 500 }
      )
    })

    it("says what is wrong", () => {
      const wrong = (input: unknown) =>
        (EncodedCause.decodeUnknown(input, classes) as EncodedCause.MalformedCause).message
      expect(wrong("text")).toBe("Not an encoded Cause: expected an object.")
      expect(
        wrong({ reasons: [{ _tag: "Fail", error: { _tag: "Error", name: "E", message: 1, fields: {} } }], pretty: "" })
      )
        .toBe("Not an encoded Cause: reasons[0].error.message is not a string.")
      expect(wrong({ reasons: [], stop: { _tag: "Timeout", millis: -1 }, pretty: "" }))
        .toBe("Not an encoded Cause: stop.millis is not a duration in milliseconds.")
      let chain: Record<string, unknown> = { _tag: "Value", value: 1 }
      for (let depth = 0; depth < 10; depth++) {
        chain = { _tag: "Error", name: "E", message: "m", fields: {}, cause: chain }
      }
      expect(wrong({ reasons: [{ _tag: "Die", defect: chain }], pretty: "" })).toContain(
        "a chain of causes deeper than 8"
      )
    })

    it("a field named __proto__ stays a field: the rebuilt error's class is not changed", () => {
      const input = JSON.parse(
        "{\"reasons\":[{\"_tag\":\"Fail\",\"error\":{\"_tag\":\"Error\",\"name\":\"NotFound\",\"message\":\"m\",\"fields\":" +
          "{\"_tag\":\"NotFound\",\"__proto__\":{\"polluted\":true}}}}],\"pretty\":\"\"}"
      )
      const error = outsideError(EncodedCause.decodeUnknown(input, classes) as Cause.Cause<unknown>)
      expect(error).toBeInstanceOf(NotFound)
      expect((error as unknown as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.getOwnPropertyDescriptor(error, "__proto__")?.value).toEqual({ polluted: true })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })

  describe("errorClasses", () => {
    it("anything but a list of classes is InvalidArgument naming the option (a Schema, a single class, a string)", () => {
      expect(() => EncodedCause.errorClasses(NotFound as never, "MyBridge: options.errors")).toThrow(InvalidArgument)
      expect(() => EncodedCause.errorClasses(NotFound as never, "MyBridge: options.errors")).toThrow(
        /^MyBridge: options.errors must be a list of error classes, such as \[NotFound, Timeout\]/
      )
      expect(() => EncodedCause.errorClasses([NotFound, "Timeout"] as never, "options.errors")).toThrow(
        /^options.errors\[1\] must be an error class/
      )
      expect(() => EncodedCause.errorClasses({ ast: {} } as never, "options.errors")).toThrow(/got a Object object/)
    })

    it("finds a class by its _tag (not its class name), a plain Error subclass by name; the user's wins over the toolkit's", () => {
      expect(classes.get("Quota")).toBe(QuotaError)
      expect(classes.get("PlainError")).toBe(PlainError)
      class MyStopped extends Data.TaggedError("ReactorStopped")<{ readonly message: string }> {}
      expect(EncodedCause.errorClasses([MyStopped], "errors").get("ReactorStopped")).toBe(MyStopped)
      expect(EncodedCause.errorClasses(undefined, "errors").get("NonErrorFailure")).toBe(NonErrorFailure)
    })
  })
})
