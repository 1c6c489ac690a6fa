import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type { Deadline, Deadlines, Expirable } from "./deadlines.ts"
import { interruptFor, stopCause, type StopReason, stopReasonOf } from "./stop.ts"
import { primaryFailure } from "./traceback.ts"

/** What a run needs from its reactor: bookkeeping, and whether a shutdown is interrupting it. */
export interface Tracker {
  track(run: Run<any, any>): void
  untrack(run: Run<any, any>, exit: Exit.Exit<unknown, unknown>): void
  /** Set while a shutdown interrupts the runs it could not drain. */
  readonly stopping: Stopping | undefined
}

/**
 * One shutdown's interruption, shared by every run it interrupts: the fibers
 * are interrupted without annotations (annotating 100,000 Causes is most of
 * the cost of a large shutdown), and their runs settle with this Exit instead.
 */
export class Stopping {
  readonly cause: Cause.Cause<never>
  readonly exit: Exit.Exit<never, never>
  constructor(reason: StopReason) {
    this.cause = stopCause(reason)
    this.exit = Exit.failCause(this.cause)
  }

  /** The Exit a run settles with when this shutdown interrupted it. */
  exitFor<A, E>(exit: Exit.Exit<A, E>): Exit.Exit<A, E> {
    if (exit._tag === "Success" || !Cause.hasInterrupts(exit.cause) || stopReasonOf(exit.cause) !== undefined) {
      return exit
    }
    // Only interrupted: the shared Exit. Interrupted and failed (a finalizer failed): keep that failure.
    return primaryFailure(exit.cause) === undefined ? this.exit : Exit.failCause(Cause.combine(exit.cause, this.cause))
  }
}

/**
 * One fiber started by a reactor on behalf of outside callers. It settles
 * once: with its fiber's Exit, or earlier with a made-up interrupted Exit when
 * a shutdown deadline gives up on a fiber whose finalizers never end.
 * Kept small: one of these lives for every pending call.
 */
export class Run<A, E> implements Expirable {
  readonly fiber: Fiber.Fiber<A, E>
  exit: Exit.Exit<A, E> | undefined
  /** When the run started waiting (`performance.now()`), for the wait-time metric. */
  readonly startedAt: number
  private deadline: Deadline | undefined
  /** An abort listener to drop when the run settles. */
  private cleanup: (() => void) | undefined
  private readonly tracker: Tracker
  private listeners: ((exit: Exit.Exit<A, E>) => void) | Array<(exit: Exit.Exit<A, E>) => void> | undefined
  constructor(fiber: Fiber.Fiber<A, E>, tracker: Tracker) {
    this.fiber = fiber
    this.tracker = tracker
    this.exit = fiber.pollUnsafe()
    this.startedAt = this.exit === undefined ? performance.now() : 0
    if (this.exit === undefined) {
      tracker.track(this)
      fiber.addObserver((exit) => this.settle(exit))
    }
  }

  settle(fiberExit: Exit.Exit<A, E>): void {
    if (this.exit !== undefined) return
    const stopping = this.tracker.stopping
    const exit = stopping === undefined ? fiberExit : stopping.exitFor(fiberExit)
    this.exit = exit
    this.tracker.untrack(this, exit)
    this.deadline?.cancel()
    this.cleanup?.()
    const listeners = this.listeners
    this.listeners = undefined
    if (typeof listeners === "function") listeners(exit)
    else if (listeners !== undefined) for (const listener of listeners) listener(exit)
  }

  /** Calls `listener` with the Exit: now if settled, else when it settles. */
  onExit(listener: (exit: Exit.Exit<A, E>) => void): void {
    if (this.exit !== undefined) return listener(this.exit)
    const listeners = this.listeners
    if (listeners === undefined) this.listeners = listener
    else if (typeof listeners === "function") this.listeners = [listeners, listener]
    else listeners.push(listener)
  }

  /** Forgets a listener added with `onExit` (a wait that gave up). */
  removeListener(listener: (exit: Exit.Exit<A, E>) => void): void {
    const listeners = this.listeners
    if (listeners === listener) this.listeners = undefined
    else if (Array.isArray(listeners)) {
      const index = listeners.indexOf(listener)
      if (index >= 0) listeners.splice(index, 1)
    }
  }

  /** Interrupts the fiber as timed out when `timeout` passes on the reactor's Clock. */
  interruptAfter(timeout: Duration.Duration, deadlines: Deadlines): void {
    this.deadline = deadlines.add(timeout, this)
  }

  expire(timeout: Duration.Duration): void {
    interruptFor(this.fiber, { _tag: "Timeout", timeout })
  }

  /** Interrupts the fiber as aborted when `signal` aborts. */
  interruptOnAbort(signal: AbortSignal): void {
    const abort = () => interruptFor(this.fiber, { _tag: "Abort", reason: signal.reason })
    signal.addEventListener("abort", abort, { once: true })
    this.cleanup = () => signal.removeEventListener("abort", abort)
  }
}
