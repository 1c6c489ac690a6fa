/**
 * For authors of bridges and libraries built on a reactor, not for its
 * everyday callers: a bridge runs work in a reactor for a caller somewhere
 * else (another thread, another process, a framework adapter) and must give
 * that caller the very error an in-process caller would get. This module
 * turns a failed Exit into that error ({@link outsideError}), records and
 * reads why the reactor ended work ({@link StopReason}), attaches a Cause to
 * a rebuilt error ({@link attachCause}), and checks options by the rules of
 * every `@crochet` call ({@link checkOptions}, {@link decodeDuration}).
 * Importing it loads `effect/Data` and no more of Effect, like
 * `@crochet/core/Errors`: a bridge's calling side stays lean.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as options from "./internal/options.ts"
import * as stop from "./internal/stop.ts"
import * as traceback from "./internal/traceback.ts"

/**
 * Why a reactor ended work itself, as its Exit's Cause records it: a timeout,
 * an `AbortSignal`, `cancel()`, or a shutdown (with the drain it outlasted,
 * or the `shutdownTimeout` its finalizers outlived, for the message's advice).
 * A bridge sends it along with a failed Exit and rebuilds the Cause on the
 * other side with {@link stopCause}.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import type { StopReason } from "@crochet/core/Bridge"
 *
 * const reason: StopReason = { _tag: "Timeout", timeout: Duration.seconds(5) }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StopReason =
  | { readonly _tag: "Timeout"; readonly timeout: Duration.Duration }
  | { readonly _tag: "Abort"; readonly reason: unknown }
  | { readonly _tag: "Cancel" }
  | {
    readonly _tag: "Stop"
    /** The reactor's drain, which the work outlasted. */
    readonly drain?: Duration.Duration | undefined
    /** Set when the work's finalizers outlived this shutdownTimeout and its caller was released anyway. */
    readonly stuck?: Duration.Duration | undefined
  }

/**
 * The reason the reactor recorded when it interrupted the work behind this
 * Cause, or `undefined` when the work failed (or was interrupted) by itself.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { stopReasonOf } from "@crochet/core/Bridge"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * reactor.runCallback(Effect.never, {
 *   timeout: "1 second",
 *   onExit: (exit) => exit._tag === "Failure" && stopReasonOf(exit.cause)?._tag // => "Timeout"
 * })
 * ```
 *
 * @since 0.1.0
 * @category stop reasons
 */
export const stopReasonOf = (cause: Cause.Cause<unknown>): StopReason | undefined => stop.stopReasonOf(cause)

/**
 * An interruption recording why the reactor ended the work: what a bridge
 * puts in the Cause it rebuilds on the caller's side, so that
 * {@link outsideError} gives the same error there.
 *
 * @example
 * ```ts
 * import { outsideError, stopCause } from "@crochet/core/Bridge"
 *
 * outsideError(stopCause({ _tag: "Cancel" })).name // => "Cancelled"
 * ```
 *
 * @since 0.1.0
 * @category stop reasons
 */
export const stopCause = (reason: StopReason): Cause.Cause<never> => stop.stopCause({ ...reason })

/**
 * The error an outside caller gets for a failed Exit's Cause, as `waitFor`
 * and `wait()` reject with it: the reactor's own error when it ended the work
 * (`TimeoutError`, `Aborted`, `Cancelled`, `ReactorStopped`), otherwise the
 * effect's own error (a non-Error value wrapped in `NonErrorFailure`), its
 * stack showing the span trace, the whole Cause reachable with `causeOf`.
 * Bridges call it on the caller's side, so a failure that crossed a thread
 * or a process is the same error object as one in-process.
 *
 * @example
 * ```ts
 * import { Cause, Data } from "effect"
 * import { causeOf } from "@crochet/core"
 * import { outsideError } from "@crochet/core/Bridge"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{ readonly id: number }> {}
 * const cause = Cause.fail(new NotFound({ id: 1 }))
 * const error = outsideError(cause) // the NotFound itself
 * causeOf(error) === cause // => true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const outsideError = (cause: Cause.Cause<unknown>): Error => stop.outsideError(cause)

/**
 * Attaches a Cause to an error so that `causeOf` (from `@crochet/core`)
 * finds it: for bridges that rebuild a failure somewhere else and hand it to
 * outside code. Returns the error.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { causeOf } from "@crochet/core"
 * import { attachCause } from "@crochet/core/Bridge"
 *
 * const error = attachCause(new Error("rebuilt"), Cause.fail("original"))
 * Cause.squash(causeOf(error)!) // => "original"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const attachCause: <E extends Error>(error: E, cause: Cause.Cause<unknown>) => E = traceback.attachCause

/**
 * Checks an options object: `undefined` is fine (no options); anything but
 * an object, or a key not in `known`, throws `InvalidArgument` naming the
 * nearest known key ("did you mean `timeout`?"). Returns the options, typed
 * by their keys. Cheap enough for every call (a loop over the given keys);
 * still, check an options object once where you can.
 *
 * @example
 * ```ts
 * import { checkOptions } from "@crochet/core/Bridge"
 *
 * const keys = ["timeout", "retries"] as const
 * checkOptions({ timeout: "1 second" }, keys, "fetchAll")?.timeout // => "1 second"
 * try {
 *   checkOptions({ timout: "1 second" }, keys, "fetchAll")
 * } catch (error) {
 *   console.log(String(error)) // InvalidArgument: fetchAll: unknown option `timout`; did you mean `timeout`? ...
 * }
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const checkOptions: <const K extends string>(
  options: unknown,
  known: ReadonlyArray<K>,
  call: string
) => { readonly [P in K]?: unknown } | undefined = options.checkOptions

/**
 * Decodes a user-given `Duration.Input` (`"5 seconds"`, `5000`,
 * `Duration.seconds(5)`, `{ seconds: 5 }`) by the rules of every `@crochet`
 * call: `undefined` and `Infinity` mean no limit (`undefined`); NaN, a
 * negative duration, a misspelt unit (`"1 secnd"`, `{ millis: 5 }`) throw
 * `InvalidArgument` naming `what`.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { decodeDuration } from "@crochet/core/Bridge"
 *
 * Duration.toMillis(decodeDuration("2 seconds", "options.timeout")!) // => 2000
 * decodeDuration(Infinity, "options.timeout") // => undefined (no limit)
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const decodeDuration: (input: unknown, what: string) => Duration.Duration | undefined = options.decodeDuration
