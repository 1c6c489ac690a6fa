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
  stopReasonOf,
  TimeoutError
} from "./Errors.ts"
