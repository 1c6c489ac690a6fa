/**
 * How to unit-test code built on @crochet/core (see docs/testing.md).
 *
 * 1. A function wrapped with `reactor.waitFor(fn)` keeps the original under
 *    `.wrapped`: test it as an Effect with fake services, no reactor at all.
 * 2. Timeouts of `waitFor` and `wait` run on the reactor's Clock. A reactor
 *    made with `Reactor.make()` inside `it.effect` uses the TestClock, so
 *    `TestClock.adjust` fires them at once, without real waiting.
 */
import { Cancelled, Reactor, ReactorStopped, TimeoutError } from "@crochet/core"
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/testing/TestClock"
import { Dns, DnsError, lookup } from "./async-dns.ts"

/** A fake DNS service: no network, answers from a table. */
const FakeDns = Layer.succeed(Dns, {
  lookup: (hostname: string) =>
    hostname === "example.test"
      ? Effect.succeed("192.0.2.1")
      : Effect.fail(new DnsError({ hostname, code: "ENOTFOUND", message: `no ${hostname}` }))
})

/**
 * Turns a Promise into an Effect of its outcome: `{ value }` or `{ error }`.
 * The handlers are attached at once, so a rejection that comes while the
 * test adjusts the clock is never "unhandled".
 */
const settle = <A>(promise: Promise<A>): Effect.Effect<{ readonly value?: A; readonly error?: unknown }> => {
  const outcome = promise.then((value) => ({ value }), (error: unknown) => ({ error }))
  return Effect.promise(() => outcome)
}

it.effect("lookup.wrapped is the plain Effect: test it with a fake service", () =>
  Effect.gen(function*() {
    expect(yield* lookup.wrapped("example.test")).toBe("192.0.2.1")
    const error = yield* Effect.flip(lookup.wrapped("nowhere.test"))
    expect(error).toBeInstanceOf(DnsError)
    expect(error.code).toBe("ENOTFOUND")
  }).pipe(Effect.provide(FakeDns)))

it.effect("the wrapped function through a reactor with the fake service", () =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.make<Dns>()
    const testLookup = reactor.waitFor(lookup.wrapped, { timeout: "5 seconds" })
    expect(yield* Effect.promise(() => testLookup("example.test"))).toBe("192.0.2.1")
    const { error } = yield* settle(testLookup("nowhere.test"))
    expect(error).toBeInstanceOf(DnsError)
  }).pipe(Effect.provide(FakeDns)))

it.effect("waitFor times out on the TestClock and interrupts the work", () =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.make()
    let interrupted = false
    const work = Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
    const outcome = settle(reactor.waitFor(work, { timeout: "5 seconds" }))

    yield* TestClock.adjust("4999 millis")
    expect(interrupted).toBe(false)
    yield* TestClock.adjust("1 milli")

    const { error } = yield* outcome
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toContain("timed out after 5s")
    expect(interrupted).toBe(true)
  }))

it.effect("result.wait times out on the TestClock but the work goes on", () =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.make()
    const result = reactor.runInReactor(Effect.sleep("10 seconds").pipe(Effect.as("done")))

    const first = settle(result.wait({ timeout: "5 seconds" }))
    yield* TestClock.adjust("5 seconds")
    const { error } = yield* first
    expect(error).toBeInstanceOf(TimeoutError)
    expect(result.poll()).toBeUndefined() // still running

    const second = settle(result.wait({ timeout: "10 seconds" }))
    yield* TestClock.adjust("5 seconds")
    expect(yield* second).toEqual({ value: "done" })
    expect(result.poll()).toEqual(Exit.succeed("done"))
  }))

it.effect("cancel() and the end of the test's scope release waiters", () =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.make()
    const result = reactor.runInReactor(Effect.never)
    result.cancel()
    const { error } = yield* settle(result.wait())
    expect(error).toBeInstanceOf(Cancelled)

    // Reactor.make shuts the reactor down when its scope closes; here we close it early.
    yield* Effect.promise(() => reactor.shutdown())
    expect(reactor.status).toBe("stopped")
    const { error: refused } = yield* settle(reactor.waitFor(Effect.void))
    expect(refused).toBeInstanceOf(ReactorStopped)
  }))
