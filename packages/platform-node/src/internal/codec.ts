/**
 * A failed call's Exit across threads: core's `EncodedCause` (the one form
 * every bridge uses), with what only threads add. The leaf policy is
 * structured clone's (the framing is a `postMessage`); this package's own
 * errors are among the classes a caller rebuilds; and this package's frames
 * are left out of the rendered stacks, since the serving side calls the
 * user's `Effect.fn` and a span's call site would be the server's own line.
 * The calling side rebuilds the Cause and hands it to core's `outsideError`,
 * as for an in-process caller.
 */
import * as EncodedCause from "@crochet/core/EncodedCause"
import type * as Cause from "effect/Cause"
import { NotCloneable, ReactorThreadStartFailed, UnknownOperation, WrongThread } from "../Errors.ts"
import * as Lazy from "./effectModules.ts"

/** This package's source directory (src/ or dist/). */
const ownSources = new URL("..", import.meta.url).pathname

/** Encodes a failed call's Cause for a reply. */
export const encodeCause = (cause: Cause.Cause<unknown>): EncodedCause.EncodedCause =>
  EncodedCause.encode(cause, { leaves: "structuredClone", hideFramesIn: ownSources })

/** A Cause for an error thrown while starting a call (unknown operation, not an Effect, reactor stopped) or a thread. */
export const encodeThrown = (error: unknown): EncodedCause.EncodedCause => encodeCause(Lazy.Cause().die(error))

/** The error {@link encodeThrown} encoded, rebuilt. */
export const decodeThrown = (encoded: EncodedCause.EncodedCause, classes: EncodedCause.ErrorClasses): unknown => {
  const reason = EncodedCause.decode(encoded, classes).reasons[0]
  return reason?._tag === "Die" ? reason.defect : reason?._tag === "Fail" ? reason.error : undefined
}

/** The classes a caller rebuilds failures as: the user's `errors` (checked), this package's errors and core's. */
export const errorClasses = (registered: unknown, what: string): EncodedCause.ErrorClasses =>
  EncodedCause.errorClasses(registered as ReadonlyArray<EncodedCause.ErrorClass> | undefined, what, [
    NotCloneable,
    ReactorThreadStartFailed,
    UnknownOperation,
    WrongThread
  ])
