import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { ReactorStopped } from "../Errors.ts"
import type { Deadline, Deadlines, Expirable } from "./deadlines.ts"
import type { ReactorImpl } from "./reactor.ts"
import { interruptFor, outsideError, stopCause, type StopReason, stopReasonOf } from "./stop.ts"
import { addCallerFrames, primaryFailure } from "./traceback.ts"

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
  /** The signal of `interruptOnAbort`, and its listener once watched (dropped when the run settles). */
  private signal: AbortSignal | undefined
  private abort: (() => void) | undefined
  /** The resolve function of the promise made by `promise()`. */
  private resolve: ((value: A | PromiseLike<A>) => void) | undefined
  /** The reactor that started it: it tracks its runs, and says whether a shutdown is interrupting them. */
  private readonly reactor: ReactorImpl<any>
  private listeners: ((exit: Exit.Exit<A, E>) => void) | Array<(exit: Exit.Exit<A, E>) => void> | undefined
  constructor(fiber: Fiber.Fiber<A, E>, reactor: ReactorImpl<any>) {
    this.fiber = fiber
    this.reactor = reactor
    this.exit = fiber.pollUnsafe()
    this.startedAt = this.exit === undefined ? performance.now() : 0
    if (this.exit === undefined) {
      reactor.track(this)
      fiber.addObserver((exit) => this.settle(exit))
    }
  }

  settle(fiberExit: Exit.Exit<A, E>): void {
    if (this.exit !== undefined) return
    const stopping = this.reactor.stopping
    const exit = stopping === undefined ? fiberExit : stopping.exitFor(fiberExit)
    this.exit = exit
    this.reactor.untrack(this, exit)
    this.deadline?.cancel()
    if (this.abort !== undefined) this.signal!.removeEventListener("abort", this.abort)
    if (this.resolve !== undefined) settleCaller(this.resolve, exit)
    const listeners = this.listeners
    this.listeners = undefined
    if (typeof listeners === "function") listeners(exit)
    else if (listeners !== undefined) { for (const listener of listeners) listener(exit) }
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

  /**
   * Interrupts the fiber as aborted when `signal` aborts. The signal is
   * watched from the check phase of this turn of the event loop (one shared
   * `setImmediate`): most calls are over by then and never pay for a listener,
   * and an abort that came first is acted on then, microseconds later (a
   * `setTimeout(0)` would wait a millisecond or more).
   */
  interruptOnAbort(signal: AbortSignal): void {
    if (this.exit !== undefined) return
    this.signal = signal
    if (unwatched.push(this) === 1) soon(watchSignals)
  }

  /** Starts listening to the signal of a run still going, or interrupts it if the signal aborted already. */
  watchSignal(): void {
    if (this.exit !== undefined) return
    const signal = this.signal!
    const abort = () => interruptFor(this.fiber, { _tag: "Abort", reason: signal.reason })
    if (signal.aborted) return abort()
    this.abort = abort
    signal.addEventListener("abort", abort)
  }

  /**
   * The outside caller's promise (waitFor's): it resolves with the value, or
   * rejects with the caller's error (`outsideError`) listing the callers.
   */
  promise(): Promise<A> {
    // Not Promise.withResolvers: twice the cost of this, on Node 24.
    return new Promise<A>((resolve) => {
      if (this.exit === undefined) this.resolve = resolve
      else settleCaller(resolve, this.exit)
    })
  }
}

/** `setImmediate` where there is one (as Effect's scheduler: Node, Bun), else a `setTimeout(0)`. */
const soon: (f: () => void) => unknown = typeof globalThis.setImmediate === "function"
  ? (f) => globalThis.setImmediate(f)
  : (f) => setTimeout(f, 0)

/** The runs given a signal since the last check phase. */
let unwatched: Array<Run<any, any>> = []

const watchSignals = (): void => {
  const runs = unwatched
  unwatched = []
  for (const run of runs) run.watchSignal()
}

/**
 * Resolves a caller's promise with a success's value, or with a promise that
 * rejects with the caller's error. That error is made in a `then` callback
 * that runs once the caller's promise follows it (hence the gate): there
 * V8's async stack traces list the outside callers awaiting the promise
 * (`at async handleRequest`), caller frames at no cost on the success path.
 */
const settleCaller = <A, E>(resolve: (value: A | PromiseLike<A>) => void, exit: Exit.Exit<A, E>): void => {
  if (exit._tag === "Success") return resolve(exit.value)
  let open: (cause: Cause.Cause<E>) => void
  resolve(new Promise<Cause.Cause<E>>((resolve) => open = resolve).then(throwOutsideError))
  open!(exit.cause)
}

const throwOutsideError = (cause: Cause.Cause<unknown>): never => {
  const error = outsideError(cause)
  // A shutdown can release 100,000 callers at once, and they share one ReactorStopped error:
  // capturing each caller's frames would cost more than the rest of the shutdown together.
  throw error instanceof ReactorStopped ? error : addCallerFrames(error, throwOutsideError)
}
