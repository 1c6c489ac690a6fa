/**
 * The handle returned by `reactor.runInReactor`: work that goes on in the
 * reactor while outside code decides when and how long to wait for it.
 * Crochet's `EventualResult`, also usable inside Effect code (yield it).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import { type Cancelled, InvalidArgument, type ReactorStopped } from "./Errors.ts"
import * as internal from "./internal/eventualResult.ts"
import type { ReactorImpl } from "./internal/reactor.ts"

/**
 * How long a wait may take and what may end it early.
 *
 * @example
 * ```ts
 * import type { EventualResult } from "@crochet/core"
 *
 * const options: EventualResult.WaitOptions = { timeout: "5 seconds", signal: AbortSignal.timeout(10_000) }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions {
  /** Give up after this long (`"5 seconds"`, `5000`, `Duration.seconds(5)`); no limit when absent. */
  readonly timeout?: Duration.Input | undefined
  /** Give up when this signal aborts. */
  readonly signal?: AbortSignal | undefined
}

/**
 * How work can end without its own result, as seen when yielding an
 * `EventualResult` in Effect code: cancelled, stopped by a shutdown, or timed
 * out (when it was started with `runInReactor(effect, { timeout })`).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventualResult, Reactor } from "@crochet/core"
 *
 * const result = Reactor.setup(Layer.empty).runInReactor(Effect.never)
 * result.cancel()
 * const stopped: EventualResult.Stopped = await Effect.runPromise(Effect.flip(result)) // a Cancelled
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Stopped = Cancelled | ReactorStopped | Cause.TimeoutError

/**
 * Work running in a reactor. Wait for it (repeatedly, with timeouts that do
 * NOT cancel it), poll it, cancel it, or stash it to fetch it again later,
 * for example from a later HTTP request. Yielding it in Effect code waits for
 * it too; a failure then keeps its full Cause.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const result = reactor.runInReactor(Effect.sleep("2 seconds").pipe(Effect.as("done")))
 * await result.wait({ timeout: "1 second" }).catch(() => "not yet") // => "not yet"
 * await result.wait() // => "done"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EventualResult<A, E = never> extends Effect.Effect<A, E | Stopped> {
  readonly [TypeId]: typeof TypeId
  /**
   * Waits for the result. A timeout or an aborted signal rejects this wait
   * (`TimeoutError`, `Aborted`) but leaves the work running: wait again later.
   * Every wait that ends with the result gets the same value or the same error.
   */
  wait(options?: WaitOptions): Promise<A>
  /** The Exit if the work is done, `undefined` while it runs. Never waits. */
  poll(): Exit.Exit<A, E> | undefined
  /** Interrupts the work; its waiters then reject with `Cancelled`. Does nothing once done. */
  cancel(): void
  /** The full failure Cause, or `undefined` while running or after a success. */
  originalFailure(): Cause.Cause<E> | undefined
  /**
   * Stores the result in the reactor's result store and returns an id for
   * `reactor.retrieve(id)`: a string that carries this result's type for the
   * compiler (see {@link StashId}).
   */
  stash(): StashId<A, E>
}

/**
 * The id `result.stash()` returns: a plain string at run time (for a cookie, a
 * URL, a queue message) that also carries, for the compiler only, the type of
 * the result it stands for, so that `reactor.retrieve(id)` gives back an
 * `EventualResult<A, E>` and a mismatch fails to compile.
 *
 * An id that comes back as a plain string (from a cookie, from another
 * process) has lost that type: `retrieve` then gives an
 * `EventualResult<unknown, unknown>`. Say what you expect with a cast,
 * `cookie as StashId<Page, FetchError>`; nothing checks it at run time, so
 * keep one alias per kind of stashed work next to the code that stashes it.
 * Through a shared store (`@crochet/redis-store`) values arrive as their JSON,
 * and failures of your own classes as instances of them only if that store
 * is given the classes (its `errors` option); else as plain `Error`s with
 * their `_tag` and fields.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { type EventualResult, Reactor } from "@crochet/core"
 *
 * type ReportId = EventualResult.StashId<{ readonly pages: number }>
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const id: ReportId = reactor.runInReactor(Effect.succeed({ pages: 3 })).stash()
 * const cookie: string = id // it is a string: set it in a cookie
 *
 * // A later request, with the cookie back:
 * const report = reactor.retrieve(cookie as ReportId) // EventualResult<{ readonly pages: number }, never>
 * ;(await report.wait()).pages // => 3
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StashId<A, E = never> = string & {
  readonly "~@crochet/core/StashId": { readonly _A: (_: never) => A; readonly _E: (_: never) => E }
}

/**
 * Brand of `EventualResult` values; prefer {@link isEventualResult}.
 *
 * @example
 * ```ts
 * import { EventualResult } from "@crochet/core"
 *
 * typeof EventualResult.TypeId // => "symbol"
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * Whether a value is an `EventualResult`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventualResult, Reactor } from "@crochet/core"
 *
 * EventualResult.isEventualResult(Reactor.setup(Layer.empty).runInReactor(Effect.void)) // => true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isEventualResult = (value: unknown): value is EventualResult<unknown, unknown> =>
  typeof value === "object" && value !== null && TypeId in value

/**
 * Waits for every result, like `Promise.all` (Twisted's `gatherResults`): the
 * combined result succeeds with all values in order, or fails with the first
 * failure (the others go on running). Cancelling it cancels them all.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventualResult, Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const both = EventualResult.all([reactor.runInReactor(Effect.succeed(1)), reactor.runInReactor(Effect.succeed("b"))])
 * await both.wait({ timeout: "5 seconds" }) // => [1, "b"]
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const all = <const T extends ReadonlyArray<EventualResult<any, any>>>(
  results: T
): EventualResult<{ -readonly [K in keyof T]: Effect.Success<T[K]> }, Effect.Error<T[number]>> => {
  const reactor = reactorOf(results, "EventualResult.all")
  const everything = Effect.all(results as ReadonlyArray<EventualResult<unknown, unknown>>, {
    concurrency: "unbounded"
  })
  return reactor.runInReactor(
    everything.pipe(Effect.onInterrupt(() => Effect.sync(() => cancelAll(results))))
  ) as never
}

/**
 * The first result to succeed wins, like `Effect.race`: the others are then
 * cancelled. Fails only if every result fails. Cancelling it cancels them all.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventualResult, Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const primary = reactor.runInReactor(Effect.sleep("1 second").pipe(Effect.as("primary")))
 * const mirror = reactor.runInReactor(Effect.succeed("mirror"))
 * await EventualResult.race([primary, mirror]).wait() // => "mirror" (and primary is cancelled)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const race = <const T extends ReadonlyArray<EventualResult<any, any>>>(
  results: T
): EventualResult<Effect.Success<T[number]>, Effect.Error<T[number]>> => {
  const reactor = reactorOf(results, "EventualResult.race")
  return reactor.runInReactor(
    Effect.raceAll(results).pipe(Effect.ensuring(Effect.sync(() => cancelAll(results))))
  ) as never
}

const cancelAll = (results: ReadonlyArray<EventualResult<any, any>>) => {
  for (const result of results) result.cancel()
}

const reactorOf = (results: ReadonlyArray<unknown>, call: string): ReactorImpl<any> => {
  if (!Array.isArray(results) || results.length === 0) {
    throw new InvalidArgument(`${call} needs a non-empty array of EventualResults.`)
  }
  for (const result of results) {
    if (!internal.isImpl(result)) {
      throw new InvalidArgument(`${call}: every element must be an EventualResult from reactor.runInReactor.`)
    }
  }
  return internal.reactorOfResult(results[0] as EventualResult<unknown, unknown>)
}
