/**
 * A failed call's Exit across threads. The serving side sends the Cause's
 * reasons in order (failures and defects as values, interruptions as the
 * reason the reactor recorded, if any); the calling side rebuilds the Cause
 * and hands it to core's `outsideError`, the same function that makes
 * an in-process caller's error. So the caller gets the same error object
 * (class, name, `_tag`, fields, `cause`, span trace, `causeOf`).
 *
 * What is encoded by hand, and why it stays: the failure values themselves.
 * Structured clone keeps an Error's message and stack but drops its class,
 * `_tag`, fields and an own `name`, and users' errors are
 * `Data.TaggedError` classes (not Schema classes), so an Error crosses as its
 * parts and is rebuilt as the caller's registered class (`errors: [...]`).
 * Effect's Schema is not used: `Schema.Cause` carries neither the reactor's
 * stop reason nor span traces (two side channels would remain), it does not
 * know unregistered classes, and loading `effect/Schema` on the calling side
 * costs about 80 ms of every cold start.
 */
import { stopCause, type StopReason, stopReasonOf } from "@crochet/core/Bridge"
import { InvalidArgument, NonErrorFailure, ReactorStopped } from "@crochet/core/Errors"
import type * as Cause from "effect/Cause"
import { NotCloneable } from "../Errors.ts"
import * as Lazy from "./effectModules.ts"
import type { EncodedCause, EncodedReason, EncodedStop, EncodedValue } from "./protocol.ts"

// An own `name` (a class field `name = "E"`) is kept as a field, so it stays an own property.
const skipped = new Set(["message", "stack", "cause"])

/** How deep a chain of `cause`s is carried. */
const maxCauseDepth = 8

/** Whether a value survives structured clone. */
const cloneable = (value: unknown): boolean => {
  if (value === null || typeof value !== "object" && typeof value !== "function") return true
  try {
    structuredClone(value)
    return true
  } catch {
    return false
  }
}

const describe = (value: unknown): string => {
  if (typeof value === "function") return `[function ${value.name || "anonymous"}]`
  if (typeof value === "object" && value !== null) return `[${value.constructor?.name ?? "object"} (not cloneable)]`
  return String(value)
}

/** This package's source directory (src/ or dist/): stack lines show it as a file URL or a path. */
const ownSources = new URL("..", import.meta.url).pathname

/**
 * Drops stack lines pointing into this package: the server calls the user's
 * `Effect.fn`, so its span's call-site frame would be the server's own line.
 */
const withoutOwnFrames = (stack: string | undefined): string | undefined =>
  stack === undefined || !stack.includes(ownSources)
    ? stack
    : stack.split("\n").filter((line) => !(line.startsWith("    at ") && line.includes(ownSources))).join("\n")

/** Encodes a failure value; fields that cannot be cloned become short descriptions. */
export const encodeValue = (value: unknown, depth = 0, stack?: string): EncodedValue => {
  if (value instanceof Error) {
    const fields: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      if (skipped.has(key)) continue
      const field = (value as unknown as Record<string, unknown>)[key]
      fields[key] = cloneable(field) ? field : describe(field)
    }
    const tag = (value as { readonly _tag?: unknown })._tag
    if (typeof tag === "string") fields._tag = tag
    const cause = (value as { readonly cause?: unknown }).cause
    return {
      type: "error",
      name: value.name,
      message: value.message,
      stack: withoutOwnFrames(stack ?? value.stack),
      fields,
      // A Cause (core's own errors) crosses as the reasons of the failure, not here.
      cause: cause === undefined || Lazy.Cause().isCause(cause) || depth >= maxCauseDepth ? undefined : encodeValue(cause, depth + 1)
    }
  }
  return { type: "value", value: cloneable(value) ? value : describe(value) }
}

/**
 * Encodes a failed Exit's Cause, rendering on this side what does not clone:
 * each failure's stack with its span trace (Effect keeps span frames as
 * annotations of the reason), and `Cause.pretty` of the whole Cause.
 */
export const encodeCause = (cause: Cause.Cause<unknown>): EncodedCause => {
  const reasons: Array<EncodedReason> = []
  let interrupted = false
  for (const reason of cause.reasons) {
    if (reason._tag === "Interrupt") {
      interrupted = true
      continue
    }
    const value = reason._tag === "Fail" ? reason.error : reason.defect
    reasons.push({ kind: reason._tag, value: encodeValue(value, 0, value instanceof Error ? renderedStack(reason) : undefined) })
  }
  const stop = stopReasonOf(cause)
  return { stop: stop === undefined ? undefined : encodeStop(stop), interrupted, reasons, pretty: safePretty(cause) }
}

/** The stack Effect renders for one failure: the error's own frames and its span trace. */
const renderedStack = (reason: Cause.Fail<unknown> | Cause.Die): string | undefined => {
  try {
    const Cause = Lazy.Cause()
    return Cause.prettyErrors(Cause.fromReasons([reason]))[0]?.stack
  } catch {
    return undefined
  }
}

const encodeStop = (stop: StopReason): EncodedStop => {
  const Duration = Lazy.Duration()
  switch (stop._tag) {
    case "Timeout":
      return { _tag: "Timeout", millis: Duration.toMillis(stop.timeout) }
    case "Abort":
      return { _tag: "Abort", reason: encodeValue(stop.reason) }
    case "Cancel":
      return stop
    case "Stop":
      return {
        _tag: "Stop",
        drainMillis: stop.drain === undefined ? undefined : Duration.toMillis(stop.drain),
        stuckMillis: stop.stuck === undefined ? undefined : Duration.toMillis(stop.stuck)
      }
  }
}

/** Rebuilds the Cause of a failed call on the caller's side, stop reason included. */
export const decodeCause = (encoded: EncodedCause, classes: ErrorClasses): Cause.Cause<unknown> => {
  const Cause = Lazy.Cause()
  const reasons: Array<Cause.Reason<unknown>> = encoded.reasons.map((reason) => {
    const value = decodeValue(reason.value, classes)
    return reason.kind === "Fail" ? Cause.makeFailReason(value) : Cause.makeDieReason(value)
  })
  const stop = encoded.stop === undefined ? undefined : decodeStop(encoded.stop, classes)
  if (stop !== undefined) reasons.push(...stopCause(stop).reasons)
  else if (encoded.interrupted) reasons.push(...Cause.interrupt().reasons)
  return Cause.fromReasons(reasons)
}

const decodeStop = (stop: EncodedStop, classes: ErrorClasses): StopReason => {
  const Duration = Lazy.Duration()
  switch (stop._tag) {
    case "Timeout":
      return { _tag: "Timeout", timeout: Duration.millis(stop.millis) }
    case "Abort":
      return { _tag: "Abort", reason: decodeValue(stop.reason, classes) }
    case "Stop":
      return {
        _tag: "Stop",
        drain: stop.drainMillis === undefined ? undefined : Duration.millis(stop.drainMillis),
        stuck: stop.stuckMillis === undefined ? undefined : Duration.millis(stop.stuckMillis)
      }
    case "Cancel":
      return stop
  }
}

/** A Cause for an error thrown while starting a call (unknown operation, not an Effect, reactor stopped). */
export const encodeThrown = (error: unknown): EncodedCause => encodeCause(Lazy.Cause().die(error))

const safePretty = (cause: Cause.Cause<unknown>): string => {
  try {
    return Lazy.Cause().pretty(cause)
  } catch {
    return "(Cause.pretty failed)"
  }
}

/** Error classes the caller registered, by `_tag` (or by name when there is no `_tag`). */
export type ErrorClasses = ReadonlyMap<string, new(...args: Array<any>) => unknown>

/** The toolkit's own errors that a server can fail a call with: always rebuilt as themselves. */
const toolkitErrors = [InvalidArgument, NonErrorFailure, NotCloneable, ReactorStopped]

export const errorClassMap = (
  classes: ReadonlyArray<new(...args: Array<any>) => unknown> | undefined
): ErrorClasses => {
  const map = new Map<string, new(...args: Array<any>) => unknown>()
  for (const constructor of [...toolkitErrors, ...classes ?? []]) {
    let tag: unknown
    try {
      tag = (Object.create(constructor.prototype) as { readonly _tag?: unknown })._tag
    } catch {
      tag = undefined
    }
    map.set(typeof tag === "string" ? tag : constructor.name, constructor)
  }
  return map
}

const define = (target: object, key: PropertyKey, value: unknown): void => {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
}

/** JavaScript's own error classes: rebuilt as themselves, as structured clone does. */
const builtinErrors = new Map<string, new(...args: Array<any>) => unknown>(
  [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((constructor) => [constructor.name, constructor])
)

/** Rebuilds a failure value: a registered class instance, else an Error with the same parts. */
export const decodeValue = (encoded: EncodedValue, classes: ErrorClasses): unknown => {
  if (encoded.type === "value") return encoded.value
  const tag = typeof encoded.fields._tag === "string" ? encoded.fields._tag : encoded.name
  const constructor = classes.get(tag) ?? (encoded.fields._tag === undefined ? builtinErrors.get(encoded.name) : undefined)
  let error: Error
  if (constructor !== undefined) {
    // A real Error (Error.isError holds) of the caller's class, without running its constructor.
    error = Reflect.construct(Error, [encoded.message], constructor) as Error
    Object.assign(error, encoded.fields)
  } else {
    error = new Error(encoded.message)
    Object.assign(error, encoded.fields)
    define(error, "name", encoded.name)
  }
  // The name may be an instance field (`class E extends Error { name = "E" }`), not on the prototype.
  if (error.name !== encoded.name) define(error, "name", encoded.name)
  define(error, "message", encoded.message)
  define(error, "stack", encoded.stack ?? `${encoded.name}: ${encoded.message}`)
  if (encoded.cause !== undefined) define(error, "cause", decodeValue(encoded.cause, classes))
  return error
}
