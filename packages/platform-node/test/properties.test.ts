/**
 * Bad input across the thread boundary (fast-check): random argument shapes,
 * non-cloneable values at any depth, random call options. Each call either
 * works (arguments round-trip with structured clone semantics) or fails with
 * the documented typed error: never a hang, never a crash, and the reactor
 * thread keeps serving.
 */
import { InvalidArgument, Reactor, TimeoutError } from "@crochet/core"
import { MainThreadBridge, NotCloneable, ReactorThread } from "@crochet/platform-node"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import fc from "fast-check"
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import { afterAll, describe, expect, it } from "vitest"
import { buried, clones, closeResources, data } from "./fixtures/arbitraries.ts"
import { operations } from "./fixtures/bridge-operations.ts"

type Echo = typeof import("./fixtures/echo.reactor.ts")
const client = ReactorThread.connect<Echo>(new URL("./fixtures/echo.reactor.ts", import.meta.url), {
  // a hang would fail the call instead of the test run
  timeout: "20 seconds"
})

afterAll(() => {
  client.shutdown()
  closeResources()
})

/** Runs `f`: its value, or what it threw. */
const outcome = (f: () => unknown): { readonly value: unknown } | { readonly error: unknown } => {
  try {
    return { value: f() }
  } catch (error) {
    return { error }
  }
}

describe("random arguments across the thread boundary (fast-check)", () => {
  it("any data round-trips with structured clone semantics", () => {
    fc.assert(
      fc.property(fc.array(data, { maxLength: 4 }), (args) => {
        expect(client.call.echoAll(...args)).toStrictEqual(structuredClone(args))
      }),
      { numRuns: 300 }
    )
    expect(client.call.add(1, 2)).toBe(3)
  })

  it("non-cloneable values at any depth: NotCloneable naming the operation and the argument, or a round trip; the thread keeps serving", () => {
    let refused = 0
    let roundTrips = 0
    fc.assert(
      fc.property(
        fc.array(fc.oneof(data, buried), { minLength: 1, maxLength: 4 }),
        (args) => {
          const result = outcome(() => client.call.echoAll(...args))
          const bad = args.findIndex((arg) => !clones(arg))
          if (bad < 0) {
            expect(result).toStrictEqual({ value: structuredClone(args) })
            roundTrips++
          } else {
            refused++
            const error = (result as { error: any }).error
            expect(error).toBeInstanceOf(NotCloneable)
            expect(error.operation).toBe("echoAll")
            expect(error.argument).toBe(bad)
            expect(error.message).toContain(`echoAll(): argument ${bad} (`)
          }
          expect(client.call.add(2, 2)).toBe(4)
        }
      ),
      { numRuns: 300 }
    )
    // both sides of the property were exercised
    expect(refused).toBeGreaterThan(0)
    expect(roundTrips).toBeGreaterThan(0)
  })

  it("handles too: client.start either starts the work or throws NotCloneable at once", () => {
    fc.assert(
      fc.property(fc.oneof(data, buried), (arg) => {
        const started = outcome(() => client.start.echoAll(arg))
        if (clones(arg)) {
          expect((started as { value: any }).value.wait()).toStrictEqual([structuredClone(arg)])
        } else {
          expect((started as { error: unknown }).error).toBeInstanceOf(NotCloneable)
        }
      }),
      { numRuns: 200 }
    )
    expect(client.call.add(3, 3)).toBe(6)
  })
})

describe("random arguments from a worker through a MainThreadBridge (fast-check)", () => {
  it("round-trip or NotCloneable in the worker; the main reactor keeps serving", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const bridge = MainThreadBridge.serve(reactor, operations)
    const endpoint = bridge.endpoint()
    const worker = new Worker(new URL("./fixtures/bridge-properties-worker.ts", import.meta.url), {
      workerData: { endpoint },
      transferList: [endpoint.port]
    })
    try {
      const [report] = await once(worker, "message")
      expect(report).toMatchObject({ ok: true })
      expect(report.refused).toBeGreaterThan(0)
      expect(report.roundTrips).toBeGreaterThan(0)
      expect(await reactor.waitFor(operations.add(2, 3))).toBe(5)
    } finally {
      await worker.terminate()
      bridge.close()
      await reactor.shutdown()
    }
  })
})

/** Anything a caller might pass as a duration, well-formed or not. */
const durationLike = fc.oneof(
  fc.double(),
  fc.integer({ min: -1_000, max: 1_000 }),
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
  fc.constantFrom(null, true, false, Symbol("x"), () => 1, [], {}, Object.create(null)),
  fc.bigInt({ min: -10n, max: 10_000_000n })
)

/** Call options of any shape: mostly `{ timeout }` objects, and anything else at all. */
const optionsLike = fc.oneof(
  fc.record({ timeout: durationLike }),
  fc.anything({ withNullPrototype: true, withBoxedValues: true })
)

/** Whether options are well-formed with no timeout, or with one longer than 100 ms. */
const waitsLong = (options: unknown): boolean => {
  if (options === undefined) return true
  if (typeof options !== "object" || options === null) return false
  const timeout = (options as { readonly timeout?: unknown }).timeout
  if (timeout === undefined) return true
  if (typeof timeout === "number" && !(timeout >= 0)) return false
  const decoded = Duration.fromInput(timeout as Duration.Input)
  if (decoded._tag === "None" || Duration.isNegative(decoded.value)) return false
  return !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) > 100
}

describe("random call options across the thread boundary (fast-check)", () => {
  it("with(options): a working call, InvalidArgument, or TimeoutError; never a hang", () => {
    fc.assert(
      fc.property(optionsLike, (options) => {
        const result = outcome(() => client.with(options as never).add(1, 1))
        if ("value" in result) expect(result.value).toBe(2)
        // a well-formed finite timeout may run out before the answer (at once for 0): a TimeoutError
        else if (result.error instanceof TimeoutError) {
          expect(result.error.message).toContain("add() on the reactor thread")
        } else expect(result.error).toBeInstanceOf(InvalidArgument)
      }),
      { numRuns: 300 }
    )
  })

  it("wait(options) on pending work: TimeoutError on time, or InvalidArgument, never a hang", () => {
    const pending = client.start.gated()
    fc.assert(
      fc.property(optionsLike, (options) => {
        // A missing, long or infinite timeout would wait (rightly) for a gate nobody opens: keep only short ones.
        fc.pre(!waitsLong(options))
        const result = outcome(() => pending.wait(options as never))
        expect("error" in result).toBe(true)
        const error = (result as { error: unknown }).error
        expect(error instanceof TimeoutError || error instanceof InvalidArgument).toBe(true)
      }),
      { numRuns: 200 }
    )
    client.call.open()
    expect(pending.wait({ timeout: "20 seconds" })).toBe("open")
  })
})
