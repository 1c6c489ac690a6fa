/**
 * @crochet/core: call an Effect runtime safely from code that is not written in Effect.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Reactor from "./Reactor.ts"

/** @since 0.1.0 */
export * as EventualResult from "./EventualResult.ts"

/** @since 0.1.0 */
export * as ResultStore from "./ResultStore.ts"

/** @since 0.1.0 */
export * as Options from "./Options.ts"

/** @since 0.1.0 */
export {
  Aborted,
  attachCause,
  Cancelled,
  causeOf,
  InvalidArgument,
  NonErrorFailure,
  outsideError,
  ReactorStartFailed,
  ReactorStopped,
  ResultNotFound,
  stopCause,
  type StopReason,
  stopReasonOf
} from "./Errors.ts"

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
export { TimeoutError } from "effect/Cause"
