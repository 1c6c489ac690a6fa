/**
 * For authors of bridges, next to `@crochet/core/Bridge`: a failed Exit's
 * Cause as data, so that it can cross a thread or a process and be turned
 * into the very error an in-process caller gets. Every bridge of the toolkit
 * uses this one form and adds only its framing (a message between threads,
 * a JSON text in Redis):
 *
 * - the Cause's reasons in order: failures, defects, interruptions;
 * - the reason the reactor ended the work, if it did (a timeout with its
 *   duration, an abort with its reason, a cancel, a shutdown with its drain);
 * - each error's class identity (`_tag`, `name`), message, fields, `cause`
 *   chain (at most 8 deep) and stack, rendered on the sending side with its
 *   span trace (Effect keeps span frames as annotations, which do not cross);
 * - `Cause.pretty` of the whole Cause, rendered on the sending side.
 *
 * {@link decode} rebuilds the Cause on the other side: hand it to
 * `outsideError` (from `@crochet/core/Bridge`) for the caller's error. Errors
 * come back as instances of their class when it is known there: a class the
 * caller registered ({@link errorClasses}), the toolkit's own errors,
 * Effect's (`TimeoutError`, ...) and JavaScript's (`TypeError`, ...). Any
 * other error comes back as a plain `Error` with the same `name`, `message`,
 * `_tag`, fields and stack, on every path.
 *
 * Importing this module loads `effect/Data` and no more of Effect; encoding
 * and decoding load the rest on first use, as a failure does elsewhere.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as internal from "./internal/encodedCause.ts"

/**
 * A failed Exit's Cause as data: what crosses a thread or a process.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const encoded: EncodedCause.EncodedCause = EncodedCause.encode(Cause.fail(new RangeError("too big")), { leaves: "json" })
 * encoded.reasons[0] // => { _tag: "Fail", error: { _tag: "Error", name: "RangeError", message: "too big", ... } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedCause {
  /** The Cause's failures, defects and interruptions, in order. */
  readonly reasons: ReadonlyArray<EncodedReason>
  /** Why the reactor ended the work, when it did (core's `StopReason`). */
  readonly stop?: EncodedStop | undefined
  /** `Cause.pretty` of the whole Cause, rendered on the sending side. */
  readonly pretty: string
}

/**
 * One reason of a Cause, as `Cause.Reason` has them.
 *
 * @example
 * ```ts
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const reason: EncodedCause.EncodedReason = { _tag: "Die", defect: { _tag: "Value", value: "boom" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type EncodedReason =
  | { readonly _tag: "Fail"; readonly error: EncodedValue }
  | { readonly _tag: "Die"; readonly defect: EncodedValue }
  | { readonly _tag: "Interrupt" }

/**
 * A failure value: an error as its parts, anything else as a leaf.
 *
 * @example
 * ```ts
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const notFound: EncodedCause.EncodedValue = {
 *   _tag: "Error",
 *   name: "NotFound",
 *   message: "no user 7",
 *   stack: "NotFound: no user 7\n    at lookup (file:///app/users.ts:12:5)",
 *   fields: { _tag: "NotFound", user: 7 }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type EncodedValue =
  | {
    readonly _tag: "Error"
    readonly name: string
    readonly message: string
    /** The stack as rendered on the sending side: the error's own frames, then its span trace. */
    readonly stack?: string | undefined
    /** The error's own enumerable fields (its `_tag` too), each a leaf. */
    readonly fields: Readonly<Record<string, unknown>>
    /** The error's own `cause` (a field of that name, or `new Error(message, { cause })`). */
    readonly cause?: EncodedValue | undefined
  }
  | { readonly _tag: "Value"; readonly value: unknown }

/**
 * Why the reactor ended the work (core's `StopReason`), its durations in
 * milliseconds.
 *
 * @example
 * ```ts
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const stop: EncodedCause.EncodedStop = { _tag: "Timeout", millis: 5000 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type EncodedStop =
  | { readonly _tag: "Timeout"; readonly millis: number }
  | { readonly _tag: "Abort"; readonly reason: EncodedValue }
  | { readonly _tag: "Cancel" }
  | { readonly _tag: "Stop"; readonly drainMillis?: number | undefined; readonly stuckMillis?: number | undefined }

/**
 * What a leaf (a field of an error, a failure that is not an error, an
 * abort's reason) may be once encoded, for the framing that carries it:
 *
 * - `"structuredClone"` (threads): what structured clone copies stays as it
 *   is; a value it refuses (a function, a socket) becomes a short
 *   description such as `"[function f]"`.
 * - `"json"` (Redis): what `JSON.stringify` gives, its `toJSON` honoured — a
 *   `Date` becomes its ISO string, a class instance a plain object of its own
 *   fields, `undefined` in an object is left out (a field whose value is
 *   `undefined` is absent once decoded), in an array `null`. What JSON would
 *   lose or throw on becomes a short description instead: `NaN` and
 *   `±Infinity` become `"NaN"`, `"Infinity"`, `"-Infinity"`; a bigint `"12n"`;
 *   a function `"[function f]"`; a symbol `"Symbol(s)"`; a `Map` or `Set`
 *   `"[Map of 2]"`; an error without `toJSON` `"RangeError: message"` (one
 *   with it, as Effect's `Data` errors, its `toJSON`); a cycle
 *   `"[Node (not JSON: ...)]"`.
 *
 * Encoding never throws for a leaf.
 *
 * @example
 * ```ts
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const forRedis: EncodedCause.Leaves = "json"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Leaves = "structuredClone" | "json"

/**
 * Options of {@link encode}.
 *
 * @example
 * ```ts
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const options: EncodedCause.EncodeOptions = {
 *   leaves: "structuredClone",
 *   hideFramesIn: new URL("./", import.meta.url).pathname
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  /** The leaf policy of the framing that carries the result. */
  readonly leaves: Leaves
  /**
   * The bridge's own source directory (a path, as `new URL("./",
   * import.meta.url).pathname` gives): stack lines pointing there are left
   * out. A bridge that calls the user's `Effect.fn` would otherwise show its
   * own line as the span's call site. Core's own lines are always left out.
   */
  readonly hideFramesIn?: string | undefined
}

/**
 * A class that failures can be rebuilt as: a `Data.TaggedError`, a
 * `Schema.TaggedError`, an `Error` subclass that names itself (its `name`
 * or `_tag`, as `class Oops extends Error { name = "Oops" }`: an error
 * carries its `name`, and a subclass that leaves it `"Error"` comes back as a
 * plain `Error`).
 *
 * @example
 * ```ts
 * import { Data } from "effect"
 * import type * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{ readonly user: number }> {}
 * const classes: ReadonlyArray<EncodedCause.ErrorClass> = [NotFound, RangeError]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorClass = new(...args: Array<any>) => unknown

/**
 * The classes a decoder rebuilds errors as, by `_tag` (or `name` for an
 * error without one): made by {@link errorClasses}.
 *
 * @example
 * ```ts
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const classes: EncodedCause.ErrorClasses = EncodedCause.errorClasses([], "options.errors")
 * classes.has("ReactorStopped") // => true (core's own errors are always there)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorClasses = ReadonlyMap<string, ErrorClass>

/**
 * Encodes a failed Exit's Cause, rendering on this side what cannot cross:
 * each failure's stack with its span trace, and `Cause.pretty` of the whole.
 * Never throws: a leaf the policy cannot carry becomes a description, an
 * error whose getters throw becomes one too.
 *
 * @example
 * ```ts
 * import { Cause, Data } from "effect"
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{ readonly user: number; readonly seen: bigint }> {}
 * const encoded = EncodedCause.encode(Cause.fail(new NotFound({ user: 7, seen: 3n })), { leaves: "json" })
 * const text = JSON.stringify(encoded) // what the Redis store keeps
 * encoded.reasons[0] // => { _tag: "Fail", error: { name: "NotFound", fields: { _tag: "NotFound", user: 7, seen: "3n" }, ... } }
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (cause: Cause.Cause<unknown>, options: EncodeOptions) => EncodedCause = internal.encode

/**
 * Rebuilds the Cause of an {@link EncodedCause} made by this version of
 * {@link encode} and carried by a trusted framing (a thread's message). For
 * anything read from outside the process, use {@link decodeUnknown}.
 * Each error comes back as the first of: a class in `classes` (by `_tag`, or
 * by `name` when it has no `_tag`), one of Effect's errors (by `_tag`), one of
 * JavaScript's (by `name`), else a plain `Error`; with its `name`, `message`,
 * fields, `cause` and the stack rendered where it failed. Its constructor is
 * not run. The stop reason is back in the Cause, for `outsideError`.
 *
 * @example
 * ```ts
 * import { Cause, Data } from "effect"
 * import { outsideError } from "@crochet/core/Bridge"
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{ readonly user: number }> {}
 * const encoded = EncodedCause.encode(Cause.fail(new NotFound({ user: 7 })), { leaves: "structuredClone" })
 * const error = outsideError(EncodedCause.decode(encoded, EncodedCause.errorClasses([NotFound], "errors")))
 * error instanceof NotFound // => true
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (encoded: EncodedCause, classes: ErrorClasses) => Cause.Cause<unknown> = internal.decode

/**
 * {@link decode} for input from outside the process (a Redis record, a
 * message anyone could have sent): checks its shape first, and never throws.
 * Input that is not an encoded Cause gives a {@link MalformedCause} saying
 * what is wrong, for the bridge to turn into a named error of its own.
 *
 * @example
 * ```ts
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const classes = EncodedCause.errorClasses(undefined, "errors")
 * const decoded = EncodedCause.decodeUnknown({ reasons: "nope" }, classes)
 * if (decoded instanceof EncodedCause.MalformedCause) {
 *   decoded.message // => "Not an encoded Cause: reasons is not an array."
 * }
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown: (input: unknown, classes: ErrorClasses) => Cause.Cause<unknown> | MalformedCause =
  internal.decodeUnknown

/**
 * The classes to rebuild errors as: the user's `registered` list, checked
 * (anything but an array of classes throws `InvalidArgument` naming `what`),
 * on top of the bridge's own `toolkit` errors and core's. A registered class
 * wins over a toolkit class with the same `_tag`. Made once per client or
 * store, not per call; loads nothing of Effect.
 *
 * @example
 * ```ts
 * import { Data } from "effect"
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * class NotFound extends Data.TaggedError("NotFound")<{ readonly user: number }> {}
 * class BridgeBroke extends Data.TaggedError("BridgeBroke")<{ readonly message: string }> {}
 * const classes = EncodedCause.errorClasses([NotFound], "MyBridge.connect: options.errors", [BridgeBroke])
 * classes.get("NotFound") === NotFound // => true
 * try {
 *   EncodedCause.errorClasses(NotFound as any, "options.errors")
 * } catch (error) {
 *   console.log(String(error)) // InvalidArgument: options.errors must be a list of error classes, such as [NotFound, Timeout] ...
 * }
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const errorClasses: (
  registered: ReadonlyArray<ErrorClass> | undefined,
  what: string,
  toolkit?: ReadonlyArray<ErrorClass>
) => ErrorClasses = internal.errorClasses

/**
 * What {@link decodeUnknown} gives for input that is not an encoded Cause
 * (corrupted, forged, or written by something else). Not meant for the
 * caller as it is: a bridge turns it into its own named error, saying where
 * the input came from.
 *
 * @example
 * ```ts
 * import * as EncodedCause from "@crochet/core/EncodedCause"
 *
 * const malformed = new EncodedCause.MalformedCause({ message: "Not an encoded Cause: expected an object." })
 * malformed._tag // => "MalformedCause"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedCause extends Data.TaggedError("MalformedCause")<{
  readonly message: string
}> {}
