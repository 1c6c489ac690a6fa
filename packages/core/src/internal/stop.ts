/**
 * Why the reactor ended work itself, recorded in the work's Cause, and the
 * error an outside caller gets for a failed Exit. Imported by `Errors.ts`, so
 * a bridge's calling side loads it: nothing of Effect's runtime is loaded
 * until a failure needs it (see `effectModules.ts`).
 */
import type * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"
import type { StopReason as PublicStopReason } from "../Bridge.ts"
import { Aborted, Cancelled, ReactorStopped } from "../Errors.ts"
import { effectModules } from "./effectModules.ts"
import { failureError, primaryFailure, withoutStack } from "./traceback.ts"

/**
 * Why the reactor interrupted a fiber (the public `StopReason`). It
 * travels as an annotation on the Interrupt reason of the fiber's Cause, so
 * the Exit alone tells a timeout from a cancel or a shutdown, with no per-call
 * bookkeeping. A shutdown's reason also caches the one error shared by the
 * callers whose work was only interrupted (a shutdown may release 100,000).
 */
export type StopReason =
  | Exclude<PublicStopReason, { readonly _tag: "Stop" }>
  | (Extract<PublicStopReason, { readonly _tag: "Stop" }> & { interrupted?: ReactorStopped })

/** The key of the annotation that records the reason. */
const stopReasonKey = "@crochet/core/StopReason"

let serviceKey: Context.Service<StopReason, StopReason> | undefined

/** The annotations recording `reason`. */
const annotations = (reason: StopReason) => {
  const { Context } = effectModules()
  return Context.make(serviceKey ??= Context.Service<StopReason>(stopReasonKey), reason)
}

/** Interrupts a fiber, recording why. */
export const interruptFor = (fiber: Fiber.Fiber<unknown, unknown>, reason: StopReason): void =>
  fiber.interruptUnsafe(undefined, annotations(reason))

/** An interrupted Cause that says why, for runs released without their fiber's own Exit. */
export const stopCause = (reason: StopReason): Cause.Cause<never> => {
  const { Cause } = effectModules()
  return Cause.fromReasons([Cause.interrupt().reasons[0]!.annotate(annotations(reason))])
}

/** The reason the reactor recorded for interrupting this Cause's fiber, if any. */
export const stopReasonOf = (cause: Cause.Cause<unknown>): StopReason | undefined => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Interrupt") {
      const stop = reason.annotations.get(stopReasonKey) as StopReason | undefined
      if (stop !== undefined) return stop
    }
  }
  return undefined
}

/**
 * The error an outside caller gets for a failed run: the reactor's own error
 * when it interrupted the work (timeout, abort, cancel, shutdown) with the
 * Cause attached, otherwise the effect's own error with its trace.
 */
export const outsideError = (cause: Cause.Cause<unknown>): Error => {
  const stop = stopReasonOf(cause)
  if (stop !== undefined) return stopError(stop, cause)
  const failure = primaryFailure(cause)
  if (failure !== undefined) return failureError(cause, failure)
  return withoutStack(() =>
    new Cancelled({
      cause,
      message: "The work was interrupted from inside Effect code (not by cancel(), a timeout or a shutdown). " +
        "See error.cause for where."
    })
  )
}

const stopError = (stop: StopReason, cause: Cause.Cause<unknown>): Error =>
  withoutStack(() => {
    const { Cause, Duration } = effectModules()
    switch (stop._tag) {
      case "Timeout": {
        const error = new Cause.TimeoutError(
          `The call timed out after ${Duration.format(stop.timeout)}, so the work was interrupted. ` +
            "Raise the timeout, or use runInReactor(...).wait({ timeout }) to keep the work running after a timeout."
        )
        Object.defineProperty(error, "cause", { value: cause, configurable: true, writable: true })
        return error
      }
      case "Abort":
        return new Aborted({
          cause,
          reason: stop.reason,
          message: "waitFor was aborted by its AbortSignal, so the work was interrupted."
        })
      case "Cancel":
        return new Cancelled({ cause, message: "The work was cancelled with EventualResult.cancel()." })
      case "Stop": {
        const onlyInterrupted = primaryFailure(cause) === undefined
        if (onlyInterrupted && stop.interrupted !== undefined) return stop.interrupted
        const error = new ReactorStopped({
          cause,
          message: stop.stuck === undefined
            ? stop.drain === undefined
              ? "The reactor shut down while this work was running, so it was interrupted. " +
                "To let in-flight work finish first, give the reactor a drain (options.drain)."
              : "The reactor shut down while this work was running, and it did not finish within the drain " +
                `(${Duration.format(stop.drain)}), so it was interrupted. To let such work finish, give the ` +
                "reactor a longer drain (options.drain)."
            : "The reactor shut down while this work was running; it was interrupted, but its finalizers did not " +
              `finish within the shutdown timeout (${Duration.format(stop.stuck)}), so this call was released ` +
              "without them (they go on in the background). Look for a finalizer of this work (Effect.ensuring, " +
              "acquireRelease) that never ends: a longer drain or shutdownTimeout would not help."
        })
        if (onlyInterrupted) stop.interrupted = error
        return error
      }
    }
  })
