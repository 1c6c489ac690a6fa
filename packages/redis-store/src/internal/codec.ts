/**
 * How a result crosses Redis: its Exit as one JSON text. A success is its
 * value, which must be JSON as it is (anything else is an
 * `UnencodableResult`, never a silent change). A failure is core's
 * `EncodedCause` with the JSON leaf policy: every failure and defect in
 * order, the reason the owner's reactor ended the work, each error's fields,
 * `cause` and rendered span trace. What comes back from Redis is untrusted:
 * a text that is not such an Exit is a `CorruptResult` naming the id.
 */
import * as EncodedCause from "@crochet/core/EncodedCause"
import * as Exit from "effect/Exit"
import { CorruptResult, OwnerLost, StoreUnavailable, UnencodableResult } from "../Errors.ts"

/** Encodes and decodes the Exits of one store. */
export interface ExitCodec {
  /** The JSON text of an Exit, or an `UnencodableResult` saying why there is none. */
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>, id: string) => string | UnencodableResult
  /** The Exit back from its JSON text, or a `CorruptResult` when the text is not one. */
  readonly decodeExit: (text: string, id: string) => Exit.Exit<unknown, unknown> | CorruptResult
}

/** The classes a retriever rebuilds failures as: the user's `errors` (checked), this package's errors and core's. */
export const errorClasses = (registered: unknown, what: string): EncodedCause.ErrorClasses =>
  EncodedCause.errorClasses(registered as ReadonlyArray<EncodedCause.ErrorClass> | undefined, what, [
    CorruptResult,
    OwnerLost,
    StoreUnavailable,
    UnencodableResult
  ])

/** A codec for Exits whose failures are rebuilt as `classes`. */
export const makeExitCodec = (classes: EncodedCause.ErrorClasses): ExitCodec => ({
  encodeExit,
  decodeExit: (text, id) => decodeExit(text, id, classes)
})

const encodeExit = (exit: Exit.Exit<unknown, unknown>, id: string): string | UnencodableResult => {
  if (exit._tag === "Failure") {
    return JSON.stringify({ _tag: "Failure", cause: EncodedCause.encode(exit.cause, { leaves: "json" }) })
  }
  const why = notJson(exit.value, "the value", 0)
  if (why === undefined) return JSON.stringify({ _tag: "Success", value: exit.value })
  return new UnencodableResult({
    message: `The result stashed as ${id} cannot be stored in Redis: its value must be JSON ` +
      `(no functions, bigints, NaN or Infinity, Dates, Maps, class instances or undefined fields), and ${why}.`
  })
}

/** Deeper than this, a value is refused (JSON.stringify would overflow the stack on a cycle). */
const maxDepth = 256

/** Why `value` is not JSON as it is (JSON.stringify would change or drop part of it), or undefined when it is. */
const notJson = (value: unknown, at: string, depth: number): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `${at} is ${value}`
    case "object":
      break
    default:
      return `${at} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}`
  }
  if (value === null) return undefined
  if (depth >= maxDepth) return `${at} is nested deeper than ${maxDepth} levels (a cycle?)`
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = notJson(value[i], `${at}[${i}]`, depth + 1)
      if (why !== undefined) return why
    }
    return undefined
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) {
    return `${at} is a ${
      (value as { readonly constructor?: { readonly name?: string } }).constructor?.name ?? "class"
    } instance`
  }
  for (const key of Object.keys(value)) {
    const why = notJson((value as Record<string, unknown>)[key], `${at}.${key}`, depth + 1)
    if (why !== undefined) return why
  }
  return undefined
}

const decodeExit = (
  text: string,
  id: string,
  classes: EncodedCause.ErrorClasses
): Exit.Exit<unknown, unknown> | CorruptResult => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return corrupt(text, id, "it is not JSON")
  }
  if (typeof json !== "object" || json === null) return corrupt(text, id, "it is not an Exit")
  const exit = json as { readonly _tag?: unknown; readonly value?: unknown; readonly cause?: unknown }
  if (exit._tag === "Success" && "value" in exit) return Exit.succeed(exit.value)
  if (exit._tag !== "Failure") return corrupt(text, id, "it is not an Exit")
  const cause = EncodedCause.decodeUnknown(exit.cause, classes)
  return cause instanceof EncodedCause.MalformedCause ? corrupt(text, id, cause.message) : Exit.failCause(cause)
}

/** How much of a corrupt record an error message quotes. */
const quoted = 64

export const corrupt = (text: unknown, id: string, why: string): CorruptResult => {
  const found = typeof text === "string" ? text : String(text)
  return new CorruptResult({
    id,
    message: `The result stored for ${id} in Redis is corrupt (${why.replace(/\.$/, "")}): found ` +
      `${JSON.stringify(found.slice(0, quoted))}${
        found.length > quoted ? ` (the first ${quoted} of ${found.length} characters)` : ""
      }. ` +
      "Something other than this store (or another version of it) wrote that key; the result is lost: start the work again."
  })
}
