/**
 * Failures across threads. Structured clone keeps an Error's message and
 * stack but drops its class, `_tag` and fields, and Effect's Cause does not
 * clone at all, so a failure crosses as its parts (name, message, stack with
 * the span trace, fields, every reason of the Cause, `Cause.pretty` text) and
 * is rebuilt on the caller's side: as an instance of the caller's own class
 * when the caller registered it (`errors: [NotFound]`), otherwise as an
 * `Error` with the same name, message, `_tag`, fields and stack.
 */
import { attachCause, Cancelled, causeOf, InvalidArgument, NonErrorFailure, ReactorStopped, TimeoutError } from "@crochet/core"
import { NotCloneable } from "../Errors.ts"
import * as Cause from "effect/Cause"
import type { EncodedFailure, EncodedValue } from "./protocol.ts"

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
const withoutOwnFrames = (stack: string): string =>
  stack.includes(ownSources)
    ? stack.split("\n").filter((line) => !(line.startsWith("    at ") && line.includes(ownSources))).join("\n")
    : stack

/** Encodes a failure value; fields that cannot be cloned become short descriptions. */
export const encodeValue = (value: unknown, depth = 0): EncodedValue => {
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
      stack: value.stack === undefined ? undefined : withoutOwnFrames(value.stack),
      fields,
      // A Cause (core's own errors) crosses as the reasons of the failure, not here.
      cause: cause === undefined || Cause.isCause(cause) || depth >= maxCauseDepth ? undefined : encodeValue(cause, depth + 1)
    }
  }
  return { type: "value", value: cloneable(value) ? value : describe(value) }
}

/**
 * Encodes the error a core reactor rejected with (its stack already carries
 * the span trace) together with its whole Cause.
 */
export const encodeFailure = (error: unknown): EncodedFailure => {
  const cause = causeOf(error)
  const stop = error instanceof ReactorStopped
    ? "ReactorStopped"
    : error instanceof Cancelled
    ? "Cancelled"
    : error instanceof TimeoutError
    ? "TimeoutError"
    : undefined
  // The primary error is encoded once and shared: structured clone keeps that
  // identity, so the caller can put the very error it throws into the Cause.
  const primary = encodeValue(error)
  const reasons: Array<{ readonly kind: "Fail" | "Die"; readonly value: EncodedValue }> = []
  if (cause !== undefined) {
    for (const reason of cause.reasons) {
      if (reason._tag === "Fail") {
        reasons.push({ kind: "Fail", value: reason.error === error ? primary : encodeValue(reason.error) })
      } else if (reason._tag === "Die") {
        reasons.push({ kind: "Die", value: reason.defect === error ? primary : encodeValue(reason.defect) })
      }
    }
  }
  return {
    stop,
    error: primary,
    reasons,
    pretty: cause !== undefined ? safePretty(cause) : String((error as Error | undefined)?.stack ?? error)
  }
}

const safePretty = (cause: Cause.Cause<unknown>): string => {
  try {
    return Cause.pretty(cause)
  } catch {
    return "(Cause.pretty failed)"
  }
}

/** Error classes the caller registered, by `_tag` (or by name when there is no `_tag`). */
export type ErrorClasses = ReadonlyMap<string, new(...args: Array<any>) => unknown>

/** The toolkit's own errors that a server can fail a call with: always rebuilt as themselves. */
const toolkitErrors = [InvalidArgument, NonErrorFailure, NotCloneable]

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
    error = Object.create(constructor.prototype) as Error
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

/**
 * Rebuilds the error a caller throws for a failed call, with the whole Cause
 * reachable through core's `causeOf(error)`, the reactor-side `Cause.pretty`
 * text under `error.reactorCause`, and the caller's frames appended to the stack.
 */
export const decodeFailure = (
  encoded: EncodedFailure,
  classes: ErrorClasses,
  callerFrames: string
): Error => {
  let error: Error
  const remote = decodeValue(encoded.error, classes)
  const message = encoded.error.type === "error" ? encoded.error.message : String(encoded.error.value)
  switch (encoded.stop) {
    case "ReactorStopped":
      error = new ReactorStopped({ message })
      break
    case "Cancelled":
      error = new Cancelled({ message, cause: Cause.interrupt() })
      break
    case "TimeoutError":
      error = new TimeoutError(message)
      break
    default:
      error = remote instanceof Error ? remote : new Error(message)
  }
  const reasons = encoded.reasons.map((reason) => {
    const value = reason.value === encoded.error ? error : decodeValue(reason.value, classes)
    return reason.kind === "Fail" ? Cause.makeFailReason(value) : Cause.makeDieReason(value)
  })
  const cause = reasons.length > 0 ? Cause.fromReasons(reasons) : Cause.interrupt()
  attachCause(error, cause)
  if (encoded.stop !== undefined) define(error, "cause", cause)
  define(error, "reactorCause", encoded.pretty)
  const remoteStack = encoded.error.type === "error" && encoded.error.stack !== undefined
    ? encoded.error.stack
    : `${error.name}: ${message}`
  define(error, "stack", `${remoteStack}\n    --- (in the reactor thread) called from ---\n${callerFrames}`)
  return error
}

/** The calling thread's frames below `below`, for the caller's side of a stack. */
export const callerFrames = (below: Function): string => {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, below)
  const stack = holder.stack ?? ""
  return stack.slice(stack.indexOf("\n") + 1)
}
