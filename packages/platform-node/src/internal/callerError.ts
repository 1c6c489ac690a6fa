/**
 * The error a blocked caller throws, made on the caller's side: a failed
 * call's Cause rebuilt and turned into core's `outsideError` (as for an
 * in-process caller), timeouts, and the calling thread's frames appended to
 * the stack.
 */
import { attachCause, outsideError } from "@crochet/core/Bridge"
import * as EncodedCause from "@crochet/core/EncodedCause"
import type * as Cause from "effect/Cause"
import { decodeThrown } from "./codec.ts"
import * as Lazy from "./effectModules.ts"
import type { Endpoint } from "./endpoint.ts"
import { formatMillis } from "./options.ts"
import * as Protocol from "./protocol.ts"

/**
 * A failed call's Cause, rebuilt, and the error the caller throws for it:
 * core's `outsideError` (as for an in-process caller), the serving side's
 * `Cause.pretty` under `reactorCause`, the caller's frames appended.
 */
export const failure = (
  encoded: Protocol.EncodedCause,
  errors: EncodedCause.ErrorClasses,
  label: string,
  name: string,
  timeout: number | undefined,
  below: Function
): { readonly cause: Cause.Cause<unknown>; readonly error: Error } => {
  const cause = EncodedCause.decode(encoded, errors)
  const error = encoded.stop?._tag === "Timeout"
    ? timedOut(label, name, timeout ?? encoded.stop.millis, below)
    : outsideError(cause)
  if (encoded.stop?._tag === "Timeout") {
    attachCause(error, cause)
    define(error, "cause", cause)
  } else {
    define(error, "stack", `${error.stack}\n    --- (in the reactor thread) called from ---\n${callerFrames(below)}`)
  }
  define(error, "reactorCause", encoded.pretty)
  return { cause, error }
}

/**
 * The error of a caller released because the server went away (the remote
 * reactor's `goneError`), with the caller's frames. When the reactor thread
 * died of an uncaught error, that error (its class, message, stack and
 * fields, rebuilt as `failure` rebuilds a failure) is in the error's `cause`
 * (a Cause with it as the defect, for `causeOf`), and its stack comes before
 * the caller's frames.
 */
export const released = (
  gone: Error,
  endpoint: Endpoint,
  errors: EncodedCause.ErrorClasses,
  below: Function
): Error => {
  if (endpoint.status !== Protocol.Dead) return withCallerFrames(gone, below)
  // A caller hears of the death (with its error, when it came across): no warning for it.
  endpoint.deathReported = true
  const died = endpoint.deathError
  if (died === undefined) return withCallerFrames(gone, below)
  const thrown = decodeThrown(died, errors)
  const cause = Lazy.Cause().die(thrown)
  define(gone, "cause", cause)
  const frames = framesOf(thrown)
  define(
    gone,
    "stack",
    `${gone.name}: ${gone.message}\n${
      frames === "" ? "" : `${frames}\n`
    }    --- (in the reactor thread) called from ---\n${callerFrames(below)}`
  )
  return gone
}

/** The frames (the lines after the headline) of an error's stack. */
const framesOf = (error: unknown): string => {
  const stack = error instanceof Error && typeof error.stack === "string" ? error.stack : ""
  return stack.split("\n").filter((line) => line.startsWith("    at ")).join("\n")
}

/** The error with a stack of the calling thread's frames below `below`. */
const withCallerFrames = (error: Error, below: Function): Error => {
  Object.defineProperty(error, "stack", {
    value: `${error.name}: ${error.message}\n${callerFrames(below)}`,
    writable: true,
    configurable: true
  })
  return error
}

/** A blocking call's `TimeoutError` (`starting`: the reactor was still starting, nothing was sent). */
export const timedOut = (label: string, name: string, timeout: number, below: Function, starting = false): Error =>
  withCallerFrames(
    new (Lazy.Cause().TimeoutError)(
      starting
        ? `${name}() on the ${label} timed out after ${formatMillis(timeout)} while the reactor was still starting, ` +
          "so nothing was sent; it goes on starting and the next call waits for it. Raise the timeout, or call " +
          "client.ready() early to pay the start-up time up front."
        : `${name}() on the ${label} timed out after ${formatMillis(timeout)}, so its work was interrupted there; ` +
          "the reactor goes on serving other calls. While a call blocks, the calling thread's event loop is frozen: " +
          "if the work waits for something this thread serves (its own HTTP server, timers or promises), it can " +
          "never finish, whatever the timeout. Otherwise raise the timeout, or use client.start." + name +
          "(...).wait({ timeout }) to keep the work running after a timeout."
    ),
    below
  )

/** `wait()`'s `TimeoutError`: the work goes on. */
export const waitTimedOut = (name: string, timeout: number, below: Function): Error =>
  withCallerFrames(
    new (Lazy.Cause().TimeoutError)(
      `wait() for ${name}() timed out after ${formatMillis(timeout)}; the work goes on in the reactor. ` +
        "Wait again, poll() or cancel() it. (While wait() blocks, this thread's event loop is frozen: work " +
        "that waits for something this thread serves cannot finish.)"
    ),
    below
  )

const define = (target: object, key: PropertyKey, value: unknown): void => {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
  } catch {
    // A frozen error keeps what it has.
  }
}

/** The calling thread's frames below `below`, for the caller's side of a stack. */
const callerFrames = (below: Function): string => {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, below)
  const stack = holder.stack ?? ""
  return stack.slice(stack.indexOf("\n") + 1)
}
