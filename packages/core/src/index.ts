/**
 * @crochet/core: call an Effect runtime safely from code that is not written in Effect.
 * Tools for bridge authors (turning a failed Exit into the caller's error,
 * stop reasons, option checks) are in `@crochet/core/Bridge`, out of this
 * first view.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Reactor from "./Reactor.ts"

/** @since 0.1.0 */
export * as EventualResult from "./EventualResult.ts"

/** @since 0.1.0 */
export * as ResultStore from "./ResultStore.ts"

export {
  /**
   * The `signal` given to a wait aborted (`Errors.Aborted`).
   *
   * @since 0.1.0
   * @category errors
   */
  Aborted,
  /**
   * The work was cancelled with `result.cancel()` (`Errors.Cancelled`).
   *
   * @since 0.1.0
   * @category errors
   */
  Cancelled,
  /**
   * The whole Cause behind an error a reactor gave an outside caller (`Errors.causeOf`).
   *
   * @since 0.1.0
   * @category errors
   */
  causeOf,
  /**
   * A bad option, duration or argument, refused at the call (`Errors.InvalidArgument`).
   *
   * @since 0.1.0
   * @category errors
   */
  InvalidArgument,
  /**
   * An effect failed with a value that is not an `Error` (`Errors.NonErrorFailure`).
   *
   * @since 0.1.0
   * @category errors
   */
  NonErrorFailure,
  /**
   * The layer given to `Reactor.setup` failed to build (`Errors.ReactorStartFailed`).
   *
   * @since 0.1.0
   * @category errors
   */
  ReactorStartFailed,
  /**
   * The reactor is shutting down or stopped (`Errors.ReactorStopped`).
   *
   * @since 0.1.0
   * @category errors
   */
  ReactorStopped,
  /**
   * `reactor.retrieve(id)` of an unknown, expired or already retrieved id (`Errors.ResultNotFound`).
   *
   * @since 0.1.0
   * @category errors
   */
  ResultNotFound
} from "./Errors.ts"

export {
  /**
   * Effect's own timeout error (`Cause.TimeoutError` from `effect/Cause`),
   * re-exported. A `waitFor` or `wait` that runs out of time rejects with it;
   * its message names the timeout and, for `waitFor`, its `cause` holds the
   * Cause of the interrupted fiber. Code that must stay lean (a thread that only
   * makes blocking calls) can import it from `effect/Cause`: it is the same class.
   *
   * @example
   * ```ts
   * import { Effect, Layer } from "effect"
   * import { Reactor, TimeoutError } from "@crochet/core"
   *
   * const reactor = Reactor.setup(Layer.empty)
   * await reactor.waitFor(Effect.never, { timeout: "1 second" })
   *   .catch((error) => error instanceof TimeoutError) // => true
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  TimeoutError
} from "effect/Cause"
