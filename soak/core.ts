/**
 * `npm run soak` (core part): load on the reactor bridge with a mix of
 * successes, failures, timeouts and aborts, then a shutdown in the middle of a
 * burst, then 1,000,000 stashes nobody retrieves (the memory store's ttl must
 * drop them). Every call must settle exactly once with the outcome its input
 * dictates; nothing may be left unhandled; the heap must come back.
 * Run with `npx node --expose-gc soak/core.ts`; exits non-zero when a check fails.
 */
import { Data, Effect, Layer, ManagedRuntime } from "effect"
import { Aborted, Reactor, ReactorStopped, ResultStore, TimeoutError } from "../packages/core/src/index.ts"
import { check, figure, finish, heapAfterGc } from "./report.ts"

class Expected extends Data.TaggedError("Expected")<{ readonly n: number }> {}

type Outcome = "success" | "failure" | "timeout" | "aborted" | "stopped"




/** The call for input `n`, and the outcome it must have. */
const callFor = (
  reactor: Reactor.Reactor<never>,
  n: number,
  timeouts: number
): { readonly promise: Promise<unknown>; readonly expected: Outcome } => {
  switch (n % 10) {
    case 0:
    case 1:
    case 2:
      return { promise: reactor.waitFor(Effect.succeed(n)), expected: "success" }
    case 3:
    case 4:
      return { promise: reactor.waitFor(Effect.yieldNow.pipe(Effect.as(n)), { timeout: "1 minute" }), expected: "success" }
    case 5:
      return { promise: reactor.waitFor(Effect.fail(new Expected({ n }))), expected: "failure" }
    case 6:
      return { promise: reactor.waitFor(Effect.yieldNow.pipe(Effect.andThen(Effect.fail(new Expected({ n }))))), expected: "failure" }
    case 7: {
      const controller = new AbortController()
      const promise = reactor.waitFor(Effect.never, { signal: controller.signal })
      controller.abort()
      return { promise, expected: "aborted" }
    }
    default:
      // Timeouts need real time to pass; `timeouts` says how many of these inputs time out.
      return n % timeouts === 8
        ? { promise: reactor.waitFor(Effect.never, { timeout: "2 millis" }), expected: "timeout" }
        : { promise: reactor.waitFor(Effect.sleep(0).pipe(Effect.as(n))), expected: "success" }
  }
}

const outcomeOf = (error: unknown): Outcome =>
  error instanceof Expected
    ? "failure"
    : error instanceof TimeoutError
    ? "timeout"
    : error instanceof Aborted
    ? "aborted"
    : error instanceof ReactorStopped
    ? "stopped"
    : (() => {
      throw error
    })()

/** Awaits a call and checks it settled once, with the right outcome (and value). */
const settle = async (call: { readonly promise: Promise<unknown>; readonly expected: Outcome }, n: number) => {
  let settled = 0
  let outcome: Outcome
  try {
    const value = await call.promise
    settled++
    outcome = value === n || value === undefined ? "success" : "failure"
  } catch (error) {
    settled++
    outcome = outcomeOf(error)
  }
  return settled === 1 && outcome === call.expected
}

const heapBefore = await heapAfterGc()
const start = performance.now()

// Each phase is a function, so that its 100,000 promises are garbage once it returns.

/** 1. Sequential: 1,000,000 calls, one at a time. */
const sequential = async () => {
  const reactor = Reactor.setup(Layer.effectDiscard(Effect.void))
  const calls = 1_000_000
  let wrong = 0
  const began = performance.now()
  for (let n = 0; n < calls; n++) if (!(await settle(callFor(reactor, n, 1000), n))) wrong++
  const seconds = (performance.now() - began) / 1000
  figure("1,000,000 sequential calls", `${seconds.toFixed(1)} s (${Math.round(calls / seconds).toLocaleString("en")}/s)`)
  check(wrong === 0, `sequential: every call settled once with its outcome (${wrong} wrong)`)
  await reactor.shutdown()
}

/** 2. Concurrent: 100,000 calls in flight at once. */
const concurrent = async () => {
  const reactor = Reactor.setup(Layer.effectDiscard(Effect.void))
  const calls = 100_000
  const began = performance.now()
  const pending = Array.from({ length: calls }, (_, n) => callFor(reactor, n, 10))
  const results = await Promise.all(pending.map((call, n) => settle(call, n)))
  const seconds = (performance.now() - began) / 1000
  const wrong = results.filter((ok) => !ok).length
  figure("100,000 concurrent calls", `${seconds.toFixed(2)} s`)
  check(wrong === 0, `concurrent: every call settled once with its outcome (${wrong} wrong)`)
  await reactor.shutdown()
}

/**
 * The peer of check 3, in the same run: `ManagedRuntime.dispose()` with the
 * same burst of `runPromise` calls (100,000 pending). Returns its time in ms.
 */
const managedRuntimeDispose = async (): Promise<number> => {
  const runtime = ManagedRuntime.make(Layer.effectDiscard(Effect.void))
  await runtime.runPromise(Effect.void)
  const calls = 125_000
  const pending = Array.from({ length: calls }, (_, n) =>
    (n % 5 === 0 ? runtime.runPromise(Effect.succeed(n)) : runtime.runPromise(Effect.never)).then(() => 1, () => 0))
  const settled = Promise.all(pending)
  const began = performance.now()
  await runtime.dispose()
  await settled
  return performance.now() - began
}

/** 3. A shutdown in the middle of a burst: 125,000 calls (100,000 pending), and one racing the shutdown. */
const shutdownMidBurst = async (peerMs: number) => {
  const reactor = Reactor.setup(Layer.effectDiscard(Effect.void))
  const calls = 125_000
  const pending = Array.from({ length: calls }, (_, n) =>
    n % 5 === 0
      ? { promise: reactor.waitFor(Effect.succeed(n)), expected: "success" as const }
      : { promise: reactor.waitFor(Effect.never), expected: "stopped" as const })
  const outcomes = Promise.all(pending.map((call, n) => settle(call, n)))
  const late = reactor.waitFor(Effect.yieldNow).then(() => "success", (error) => outcomeOf(error))
  const began = performance.now()
  await reactor.shutdown()
  const wrong = (await outcomes).filter((ok) => !ok).length
  const shutdownMs = performance.now() - began
  figure(`shutdown() with ${(calls * 4 / 5).toLocaleString("en")} calls pending`, `${shutdownMs.toFixed(0)} ms`)
  check(wrong === 0, `shutdown mid-burst: every call settled once with its outcome (${wrong} wrong)`)
  check(["success", "stopped"].includes(await late), "a call racing the shutdown settled (success or ReactorStopped)")
  figure("ManagedRuntime.dispose() with 100,000 runPromise calls pending (same run)", `${peerMs.toFixed(0)} ms`)
  check(
    shutdownMs <= peerMs / 2,
    `shutdown released 100,000 pending calls in at most half the time ManagedRuntime.dispose() takes ` +
      `(${shutdownMs.toFixed(0)} ms vs ${peerMs.toFixed(0)} ms)`
  )
  const refused = await reactor.waitFor(Effect.void).then(() => "success", outcomeOf)
  check(refused === "stopped", "a call after shutdown is refused with ReactorStopped")
}

/** 4. The memory store: 1,000,000 stashes nobody retrieves (a server whose clients never come back). */
const unretrievedStashes = async () => {
  const ttl = 1_000
  const store = ResultStore.memory({ ttl })
  const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store })
  const stashes = 1_000_000
  const began = performance.now()
  for (let n = 0; n < stashes; n++) {
    reactor.runInReactor(Effect.succeed(n)).stash()
    if (n % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  const seconds = (performance.now() - began) / 1000
  figure("1,000,000 stashes never retrieved (ttl 1 s)", `${seconds.toFixed(1)} s (${Math.round(stashes / seconds).toLocaleString("en")}/s)`)
  const heapWhileKept = await heapAfterGc()
  await new Promise((resolve) => setTimeout(resolve, ttl + 200))
  const left = store.takeUnretrieved().length
  const heapAfterTtl = await heapAfterGc()
  figure("heap: within the last ttl → after it", `${(heapWhileKept / 1024 / 1024).toFixed(1)} MB → ${(heapAfterTtl / 1024 / 1024).toFixed(1)} MB`)
  check(left === 0, `memory store: every unretrieved stash expired after its ttl (${left} left)`)
  await reactor.shutdown()
}

await sequential()
await concurrent()
await shutdownMidBurst(await managedRuntimeDispose())
await unretrievedStashes()

const heapGrowth = (await heapAfterGc()) - heapBefore
figure("heap growth after the runs (after GC)", `${(heapGrowth / 1024 / 1024).toFixed(2)} MB`)
check(heapGrowth <= 5 * 1024 * 1024, `heap growth ≤ 5 MB (${(heapGrowth / 1024 / 1024).toFixed(2)} MB)`)
finish("core soak", start)
