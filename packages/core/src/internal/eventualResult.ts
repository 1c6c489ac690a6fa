/**
 * The implementation of `EventualResult` (see the public module for what it
 * is): a handle on a run, the waits, and the logging of failures nobody saw.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Effectable from "effect/Effectable"
import * as Exit from "effect/Exit"
import { Aborted, ReactorStopped } from "../Errors.ts"
import type { EventualResult, StashId, Stopped, WaitOptions } from "../EventualResult.ts"
import { decodeWaitOptions, waitKeys } from "./options.ts"
import type { ReactorImpl } from "./reactor.ts"
import type { Run } from "./run.ts"
import { interruptFor, outsideError, stopReasonOf } from "./stop.ts"
import { addCallerFrames, primaryFailure, withoutStack } from "./traceback.ts"

/** The brand of `EventualResult` values (re-exported as `EventualResult.TypeId`). */
export const TypeId: unique symbol = Symbol.for("@crochet/core/EventualResult") as never

/** Shared by a result and the finalization registry, which must not hold the result itself. */
interface Watch {
  readonly run: Run<any, any>
  /** The reactor that made the result: its timeouts (on its Clock), stash and logs. */
  readonly reactor: ReactorImpl<any>
  observed: boolean
}

const unobserved = new FinalizationRegistry<Watch>((watch) => {
  if (!watch.observed) {
    watch.run.onExit((exit) =>
      logIfFailed(watch.reactor, exit, "garbage-collected before anyone looked at its failure")
    )
  }
})

/**
 * Logs a failure (not a mere interruption) that nobody will ever see otherwise.
 */
export const logIfFailed = (reactor: ReactorImpl<any>, exit: Exit.Exit<unknown, unknown>, note: string): void => {
  if (exit._tag === "Failure" && primaryFailure(exit.cause) !== undefined) reactor.logUnhandled(exit.cause, note)
}

export class EventualResultImpl<A, E> extends Effectable.Class<A, E | Stopped> implements EventualResult<A, E> {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly run: Run<A, E>
  readonly watch: Watch
  private error: Error | undefined
  constructor(run: Run<A, E>, reactor: ReactorImpl<any>) {
    super()
    this.run = run
    this.watch = { run, reactor, observed: false }
    if (run.exit === undefined || run.exit._tag === "Failure") unobserved.register(this, this.watch)
  }

  wait(options?: WaitOptions): Promise<A> {
    let timeout: Duration.Duration | undefined
    let signal: AbortSignal | undefined
    try {
      ;({ signal, timeout } = decodeWaitOptions(options, waitKeys, "EventualResult.wait"))
    } catch (error) {
      return Promise.reject(error)
    }
    const exit = this.run.exit
    if (exit !== undefined) {
      return exit._tag === "Success"
        ? Promise.resolve(exit.value)
        : Promise.reject(this.failure(exit))
    }
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

  stash(): StashId<A, E> {
    this.watch.observed = true
    return this.watch.reactor.stash(this) as StashId<A, E>
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
      const deadline = result.watch.reactor.deadlines.add(timeout, { expire: () => settle(waitTimedOut(timeout)) })
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
    new Cause.TimeoutError(
      `EventualResult.wait timed out after ${Duration.format(timeout)}; the work goes on. ` +
        "Wait again, poll() or cancel() it, or stash() it to fetch later."
    )
  )

const waitAborted = (reason: unknown): Error =>
  withoutStack(() =>
    new Aborted({
      reason,
      message:
        "EventualResult.wait was aborted by its AbortSignal; the work goes on. Wait again, poll() or cancel() it."
    })
  )

/**
 * A retrieved result is someone's to look at again: if it is dropped with a
 * failure nobody looked at, log it (stashing had marked it as taken care of).
 */
export const retrieved = (result: EventualResult<unknown, unknown>): void => {
  if (result instanceof EventualResultImpl) result.watch.observed = false
}

/**
 * The context (Clock, logger) of the reactor that made the handle, for a
 * store that keeps time on it; undefined for handles made elsewhere.
 */
export const contextOf = (result: EventualResult<unknown, unknown>): Context.Context<never> | undefined =>
  result instanceof EventualResultImpl ? result.watch.reactor.deadlines.context : undefined

/**
 * A stashed result nobody can retrieve any more: a failure is logged like
 * any unobserved one (`note` says why).
 */
export const logIfFailedUnretrieved = (result: EventualResult<unknown, unknown>, note: string): void => {
  if (!(result instanceof EventualResultImpl)) return
  const exit = result.run.exit
  if (exit !== undefined) logIfFailed(result.watch.reactor, exit, note)
}

/**
 * Calls `listener` once the result's work ended (at once if it has), with the
 * Exit `poll()` gives, without a fiber of its own: the listener runs where
 * the run settles, so it must not throw or block. A handle made elsewhere is
 * awaited by a fiber, and the listener gets the Exit of awaiting it.
 */
export const whenDone = <A, E>(result: EventualResult<A, E>, listener: (exit: Exit.Exit<A, E>) => void): void => {
  if (result instanceof EventualResultImpl) return result.run.onExit(() => listener(result.poll()!))
  Effect.runFork(Effect.flatMap(Effect.exit(result), (exit) => Effect.sync(() => listener(exit as Exit.Exit<A, E>))))
}

/** Makes the handle for a run. Used by the reactor. */
export const make = <A, E>(run: Run<A, E>, reactor: ReactorImpl<any>): EventualResult<A, E> =>
  new EventualResultImpl(run, reactor)

/** Whether a value is a handle made here (not a look-alike). */
export const isImpl = (value: unknown): value is EventualResultImpl<unknown, unknown> =>
  value instanceof EventualResultImpl

/** The reactor that made a handle. */
export const reactorOfResult = (result: EventualResult<unknown, unknown>): ReactorImpl<any> =>
  (result as EventualResultImpl<unknown, unknown>).watch.reactor
