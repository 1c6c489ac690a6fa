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

/** @since 0.1.0 */
export {
  Aborted,
  Cancelled,
  causeOf,
  InvalidArgument,
  NonErrorFailure,
  ReactorStartFailed,
  ReactorStopped,
  ResultNotFound
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
