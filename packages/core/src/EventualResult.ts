/**
 * The handle returned by `reactor.runInReactor`: work that goes on in the
 * reactor while outside code decides when and how long to wait for it.
 * Crochet's `EventualResult`, also usable inside Effect code (yield it).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Exit from "effect/Exit"
import { Aborted, Cancelled, InvalidArgument, ReactorStopped, TimeoutError } from "./Errors.ts"
import type { Deadlines } from "./internal/deadlines.ts"
import { decodeWaitOptions } from "./internal/options.ts"
import { interruptFor, outsideError, type Run, stopReasonOf } from "./internal/run.ts"
import { addCallerFrames, primaryFailure, withoutStack } from "./internal/traceback.ts"

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
 */
export type Stopped = Cancelled | ReactorStopped | TimeoutError

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
  /** Stores the result in the reactor's result store and returns an id for `reactor.retrieve(id)`. */
  stash(): string
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
 */
export const TypeId: unique symbol = Symbol.for("@crochet/core/EventualResult") as never

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
 */
export const isEventualResult = (value: unknown): value is EventualResult<unknown, unknown> =>
  typeof value === "object" && value !== null && TypeId in value

/**
 * What an `EventualResult` needs from the reactor that made it.
 *
 * @internal
 */
export interface Host {
  /** The reactor's timeouts, on its Clock (a TestClock in tests). */
  readonly deadlines: Deadlines
  stash(result: EventualResult<unknown, unknown>): string
  logUnhandled(cause: Cause.Cause<unknown>, note: string): void
  runInReactor<A, E>(effect: Effect.Effect<A, E>): EventualResult<A, E>
}

/** Shared by a result and the finalization registry, which must not hold the result itself. */
interface Watch {
  readonly run: Run<any, any>
  readonly host: Host
  observed: boolean
}

const unobserved = new FinalizationRegistry<Watch>((watch) => {
  if (!watch.observed) {
    watch.run.onExit((exit) => logIfFailed(watch.host, exit, "garbage-collected before anyone looked at its failure"))
  }
})

/**
 * Logs a failure (not a mere interruption) that nobody will ever see otherwise.
 *
 * @internal
 */
export const logIfFailed = (host: Host, exit: Exit.Exit<unknown, unknown>, note: string): void => {
  if (exit._tag === "Failure" && primaryFailure(exit.cause) !== undefined) host.logUnhandled(exit.cause, note)
}

class EventualResultImpl<A, E> extends Effectable.Class<A, E | Stopped>
  implements EventualResult<A, E>
{
  readonly [TypeId]: typeof TypeId = TypeId
  readonly run: Run<A, E>
  readonly watch: Watch
  private error: Error | undefined
  constructor(run: Run<A, E>, host: Host) {
    super()
    this.run = run
    this.watch = { run, host, observed: false }
    if (run.exit === undefined || run.exit._tag === "Failure") unobserved.register(this, this.watch)
  }

  wait(options?: WaitOptions): Promise<A> {
    let timeout: Duration.Duration | undefined
    let signal: AbortSignal | undefined
    try {
      ;({ signal, timeout } = decodeWaitOptions(options, "EventualResult.wait"))
    } catch (error) {
      return Promise.reject(error)
    }
    const exit = this.run.exit
    if (exit !== undefined) return exit._tag === "Success" ? Promise.resolve(exit.value) : Promise.reject(this.failure(exit))
    if (signal?.aborted) return Promise.reject(waitAborted(signal.reason))
    return awaitResult(this, timeout, signal)
  }

  poll(): Exit.Exit<A, E> | undefined {
    const exit = this.run.exit
    if (exit?._tag === "Failure") this.watch.observed = true
    return exit
  }

  cancel(): void {
    this.watch.observed = true
    if (this.run.exit === undefined) interruptFor(this.run.fiber, { _tag: "Cancel" })
  }

  originalFailure(): Cause.Cause<E> | undefined {
    const exit = this.poll()
    return exit?._tag === "Failure" ? exit.cause : undefined
  }

  stash(): string {
    this.watch.observed = true
    return this.watch.host.stash(this)
  }

  asEffect(): Effect.Effect<A, E | Stopped> {
    return Effect.callback((resume) => {
      const listener = (exit: Exit.Exit<A, E>) => resume(this.forEffect(exit))
      this.run.onExit(listener)
      return Effect.sync(() => this.run.removeListener(listener))
    })
  }

  /** The error every wait rejects with: made once, so all waits get the same one. */
  failure(exit: Exit.Failure<A, E>): Error {
    this.watch.observed = true
    return this.error ??= outsideError(exit.cause)
  }

  private forEffect(exit: Exit.Exit<A, E>): Exit.Exit<A, E | Stopped> {
    if (exit._tag === "Success") return exit
    this.watch.observed = true
    const stop = stopReasonOf(exit.cause)
    return stop === undefined ? exit : Exit.fail(this.failure(exit) as Stopped)
  }
}

/** Waits for the result, a timeout or an abort; errors are made in `then` so they list the callers (see awaitRun). */
const awaitResult = <A, E>(
  result: EventualResultImpl<A, E>,
  timeout: Duration.Duration | undefined,
  signal: AbortSignal | undefined
): Promise<A> =>
  new Promise<Exit.Exit<A, E> | Error>((resolve) => {
    const cleanups: Array<() => void> = []
    const settle = (outcome: Exit.Exit<A, E> | Error) => {
      for (const cleanup of cleanups) cleanup()
      resolve(outcome)
    }
    result.run.onExit(settle)
    cleanups.push(() => result.run.removeListener(settle))
    if (timeout !== undefined) {
      const deadline = result.watch.host.deadlines.add(timeout, { expire: () => settle(waitTimedOut(timeout)) })
      cleanups.push(() => deadline.cancel())
    }
    if (signal !== undefined) {
      const abort = () => settle(waitAborted(signal.reason))
      signal.addEventListener("abort", abort, { once: true })
      cleanups.push(() => signal.removeEventListener("abort", abort))
    }
  }).then(function valueOrThrow(outcome): A {
    if (outcome instanceof Error) throw addCallerFrames(outcome, valueOrThrow)
    if (outcome._tag === "Success") return outcome.value
    const error = result.failure(outcome)
    throw error instanceof ReactorStopped ? error : addCallerFrames(error, valueOrThrow)
  })

const waitTimedOut = (timeout: Duration.Duration): Error =>
  withoutStack(() =>
    new TimeoutError(
      `EventualResult.wait timed out after ${Duration.format(timeout)}; the work goes on. ` +
        "Wait again, poll() or cancel() it, or stash() it to fetch later."
    )
  )

const waitAborted = (reason: unknown): Error =>
  withoutStack(() =>
    new Aborted({
      reason,
      message: "EventualResult.wait was aborted by its AbortSignal; the work goes on. Wait again, poll() or cancel() it."
    })
  )


/**
 * A retrieved result is someone's to look at again: if it is dropped with a
 * failure nobody looked at, log it (stashing had marked it as taken care of).
 *
 * @internal
 */
export const retrieved = (result: EventualResult<unknown, unknown>): void => {
  if (result instanceof EventualResultImpl) result.watch.observed = false
}

/**
 * The context (Clock, logger) of the reactor that made the handle, for a
 * store that keeps time on it; undefined for handles made elsewhere.
 *
 * @internal
 */
export const contextOf = (result: EventualResult<unknown, unknown>): Context.Context<never> | undefined =>
  result instanceof EventualResultImpl ? result.watch.host.deadlines.context : undefined

/**
 * A stashed result nobody can retrieve any more: a failure is logged like
 * any unobserved one (`note` says why).
 *
 * @internal
 */
export const logIfFailedUnretrieved = (result: EventualResult<unknown, unknown>, note: string): void => {
  if (!(result instanceof EventualResultImpl)) return
  const exit = result.run.exit
  if (exit !== undefined) logIfFailed(result.watch.host, exit, note)
}

/**
 * Makes the handle for a run. Used by the reactor.
 *
 * @internal
 */
export const make = <A, E>(run: Run<A, E>, host: Host): EventualResult<A, E> => new EventualResultImpl(run, host)

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
 */
export const all = <const T extends ReadonlyArray<EventualResult<any, any>>>(
  results: T
): EventualResult<{ -readonly [K in keyof T]: Effect.Success<T[K]> }, Effect.Error<T[number]>> => {
  const host = hostOf(results, "EventualResult.all")
  const everything = Effect.all(results as ReadonlyArray<EventualResult<unknown, unknown>>, { concurrency: "unbounded" })
  return host.runInReactor(
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
 */
export const race = <const T extends ReadonlyArray<EventualResult<any, any>>>(
  results: T
): EventualResult<Effect.Success<T[number]>, Effect.Error<T[number]>> => {
  const host = hostOf(results, "EventualResult.race")
  return host.runInReactor(
    Effect.raceAll(results).pipe(Effect.ensuring(Effect.sync(() => cancelAll(results))))
  ) as never
}

const cancelAll = (results: ReadonlyArray<EventualResult<any, any>>) => {
  for (const result of results) result.cancel()
}

const hostOf = (results: ReadonlyArray<unknown>, call: string): Host => {
  if (!Array.isArray(results) || results.length === 0) {
    throw new InvalidArgument(`${call} needs a non-empty array of EventualResults.`)
  }
  for (const result of results) {
    if (!(result instanceof EventualResultImpl)) {
      throw new InvalidArgument(`${call}: every element must be an EventualResult from reactor.runInReactor.`)
    }
  }
  return (results[0] as EventualResultImpl<unknown, unknown>).watch.host
}
