/**
 * How a result crosses Redis: its Exit through `Schema.Exit`, the value as
 * JSON (`Schema.Json`, strict), failures and defects through a lenient codec
 * that keeps `_tag`, `name`, `message`, JSON fields and the owner's rendering
 * of the trace (span frames are not serialisable, so the text is rendered on
 * the sending side).
 */
import { Cancelled, ReactorStopped, ResultNotFound } from "@crochet/core"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import { CorruptResult, OwnerLost, RemoteError, StoreUnavailable, UnencodableResult } from "../Errors.ts"

/** A failure or defect with its trace rendered on the owner's side. */
class Carried {
  readonly value: unknown
  readonly stack: string | undefined
  constructor(value: unknown, stack: string | undefined) {
    this.value = value
    this.stack = stack
  }
}

type Json = Schema.Json

const isError = (value: unknown): value is Error =>
  value instanceof Error || (typeof value === "object" && value !== null && typeof (value as Error).message === "string" &&
    typeof (value as Error).name === "string" && Object.prototype.toString.call(value) === "[object Error]")

/** A JSON copy of a value, or undefined when it has none. */
const toJson = (value: unknown): Json | undefined => {
  if (value === undefined || typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    return undefined
  }
  try {
    const text = JSON.stringify(value)
    return text === undefined ? undefined : JSON.parse(text) as Json
  } catch {
    return undefined
  }
}

const reserved = new Set(["_tag", "name", "message", "stack", "cause"])

/** How failures are encoded: generically, plus through the application's own error schema when it has one. */
interface ErrorCodec {
  readonly encode: (value: unknown) => Json | undefined
  readonly decode: (json: unknown) => Error | undefined
}

const makeEncodeFailure = (typed: ErrorCodec | undefined) => (input: unknown): Json => {
  const { stack, value } = input instanceof Carried ? input : new Carried(input, undefined)
  if (!isError(value)) {
    const json = toJson(value)
    return json === undefined ? { text: String(value) } : { value: json }
  }
  const fields: Record<string, Json> = {}
  for (const [key, field] of Object.entries(value)) {
    if (reserved.has(key)) continue
    const json = toJson(field)
    fields[key] = json === undefined ? String(field) : json
  }
  const tag = (value as { readonly _tag?: unknown })._tag
  const typedJson = typed?.encode(value)
  return {
    error: {
      ...(typeof tag === "string" ? { _tag: tag } : {}),
      name: value.name,
      message: value.message,
      ...(stack ?? value.stack) !== undefined ? { stack: (stack ?? value.stack)! } : {},
      fields
    },
    ...(typedJson === undefined ? {} : { typed: typedJson })
  }
}

/** Our own errors and core's come back as real instances; anything else as a RemoteError. */
const rebuild = (error: {
  readonly _tag?: string
  readonly name: string
  readonly message: string
  readonly stack?: string
  readonly fields: Record<string, unknown>
}): Error => {
  const message = error.message
  const fields = error.fields
  let rebuilt: Error
  switch (error._tag) {
    case "StoreUnavailable":
      rebuilt = new StoreUnavailable({ message })
      break
    case "OwnerLost":
      rebuilt = new OwnerLost({ message, id: String(fields["id"]) })
      break
    case "UnencodableResult":
      rebuilt = new UnencodableResult({ message })
      break
    case "ResultNotFound":
      rebuilt = new ResultNotFound(String(fields["id"]))
      break
    case "Cancelled":
      rebuilt = new Cancelled({ message, cause: Cause.empty })
      break
    case "ReactorStopped":
      rebuilt = new ReactorStopped({ message })
      break
    default:
      return new RemoteError(error)
  }
  if (error.stack !== undefined) setStack(rebuilt, error.stack)
  return rebuilt
}

const makeDecodeFailure = (typed: ErrorCodec | undefined) => (json: Json): unknown => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return json
  const object = json as Readonly<Record<string, Json>>
  if ("value" in object) return object["value"]
  if ("text" in object) return object["text"]
  const error = object["error"] as Record<string, Json> | undefined
  if (typeof error !== "object" || error === null) return json
  const stack = typeof error["stack"] === "string" ? error["stack"] : undefined
  const instance = "typed" in object ? typed?.decode(object["typed"]) : undefined
  if (instance !== undefined) {
    if (stack !== undefined) setStack(instance, stack)
    return instance
  }
  return rebuild({
    ...(typeof error["_tag"] === "string" ? { _tag: error["_tag"] } : {}),
    name: String(error["name"]),
    message: String(error["message"]),
    ...(stack === undefined ? {} : { stack }),
    fields: (error["fields"] ?? {}) as Record<string, unknown>
  })
}

const setStack = (error: Error, stack: string): void => {
  Object.defineProperty(error, "stack", { value: stack, configurable: true, writable: true, enumerable: false })
}

/** What the owner stores when its work ended by interruption only: how the retriever should report it. */
export type StopKind = "Cancelled" | "ReactorStopped"

/** Replaces every failure and defect by itself plus the owner's rendering of its trace. */
const carryTraces = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Cause.fromReasons(cause.reasons.map((reason) => {
    if (reason._tag === "Interrupt") return reason
    const value = reason._tag === "Fail" ? reason.error : reason.defect
    const carried = new Carried(value, isError(value) ? renderStack(reason, value) : undefined)
    return reason._tag === "Fail" ? Cause.makeFailReason(carried) : Cause.makeDieReason(carried)
  }))

/**
 * The error's stack with its Effect span frames, rendered here because they
 * are not serialisable. An error that was already rendered (core does that
 * when a wait rejects with it) keeps its stack: rendering it again would
 * repeat the span frames.
 */
const renderStack = (reason: Cause.Fail<unknown> | Cause.Die, error: Error): string | undefined => {
  const own = typeof error.stack === "string" ? error.stack : undefined
  const rendered = Cause.prettyErrors(Cause.fromReasons([reason]))[0]?.stack
  if (own === undefined || rendered === undefined) return rendered ?? own
  const ownLines = new Set(own.split("\n").slice(1).map((line) => line.trim()))
  return rendered.split("\n").slice(1).some((line) => !ownLines.has(line.trim())) ? rendered : own
}

/** Encodes and decodes the Exits of one store. */
export interface ExitCodec {
  /** The JSON text of an Exit, or an `UnencodableResult` saying why there is none. */
  readonly encodeExit: (exit: Exit.Exit<unknown, unknown>, id: string) => string | UnencodableResult
  /** The Exit of `id` back from its JSON text, or a `CorruptResult` when the text is not one. */
  readonly decodeExit: (text: string, id: string) => Exit.Exit<unknown, unknown> | CorruptResult
}

/**
 * A codec for Exits. With `errors` (a schema of the application's errors,
 * such as a union of `Schema.TaggedError` classes), failures it can encode
 * come back as instances of those classes; the rest come back generically.
 */
export const makeExitCodec = (errors?: Schema.Top | undefined): ExitCodec => {
  const typed = errors === undefined ? undefined : errorCodec(errors)
  // Any failure or defect, to and from JSON. Never fails to encode.
  const Failure = Schema.Json.pipe(
    Schema.decodeTo(
      Schema.Unknown,
      SchemaTransformation.transform({ decode: makeDecodeFailure(typed), encode: makeEncodeFailure(typed) })
    )
  )
  const ExitJson = Schema.toCodecJson(Schema.Exit(Schema.Json, Failure, Failure))
  const encodeExitJson = Schema.encodeUnknownExit(ExitJson)
  const decodeExitJson = Schema.decodeUnknownExit(ExitJson)
  return {
    encodeExit: (exit, id) => encodeExit(encodeExitJson, exit, id),
    decodeExit: (text, id) => decodeExit(decodeExitJson, text, id)
  }
}

const errorCodec = (errors: Schema.Top): ErrorCodec => {
  const json = Schema.toCodecJson(errors as Schema.Codec<unknown, unknown>)
  const encode = Schema.encodeUnknownExit(json as Schema.Codec<unknown, unknown>)
  const decode = Schema.decodeUnknownExit(json as Schema.Codec<unknown, unknown>)
  return {
    encode: (value) => {
      const exit = encode(value)
      return exit._tag === "Success" ? exit.value as Json : undefined
    },
    decode: (value) => {
      const exit = decode(value)
      return exit._tag === "Success" && isError(exit.value) ? exit.value : undefined
    }
  }
}

const encodeExit = (
  encodeExitJson: (exit: unknown) => Exit.Exit<unknown, unknown>,
  exit: Exit.Exit<unknown, unknown>,
  id: string
): string | UnencodableResult => {
  // A plain value needs no schema (the text is the one the schema gives).
  if (exit._tag === "Success" && isPlain(exit.value)) return JSON.stringify({ _tag: "Success", value: exit.value })
  const prepared = exit._tag === "Success" ? exit : Exit.failCause(carryTraces(exit.cause))
  const encoded = encodeExitJson(prepared)
  if (encoded._tag === "Success") return JSON.stringify(encoded.value)
  const why = Cause.squash(encoded.cause)
  return new UnencodableResult({
    message: `The result stashed as ${id} cannot be stored in Redis: its value must be JSON ` +
      `(no functions, bigints, NaN or Infinity, Dates, Maps, class instances or undefined fields). ` +
      `${why instanceof Error ? why.message : String(why)}`.trim()
  })
}

/** null, a boolean, a string or a finite number: JSON as it is. */
const isPlain = (value: unknown): boolean =>
  value === null || typeof value === "string" || typeof value === "boolean" ||
  (typeof value === "number" && Number.isFinite(value))

const decodeExit = (
  decodeExitJson: (json: unknown) => Exit.Exit<unknown, unknown>,
  text: string,
  id: string
): Exit.Exit<unknown, unknown> | CorruptResult => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return corruptResult(id, text, "it is not JSON")
  }
  // Any JSON is a valid success value: no schema needed.
  if (typeof json === "object" && json !== null && (json as { _tag?: unknown })._tag === "Success" && "value" in json) {
    return Exit.succeed(json.value)
  }
  const decoded = decodeExitJson(json)
  if (decoded._tag === "Success") return decoded.value as Exit.Exit<unknown, unknown>
  return corruptResult(id, text, "it is not an encoded Exit")
}

/** What was found for `id` is not what a store wrote: `why`, quoting at most 64 characters of it. */
export const corruptResult = (id: string, found: string, why: string): CorruptResult => {
  const quoted = found.slice(0, 64)
  return new CorruptResult({
    id,
    found: quoted,
    message: `The result stored as ${id} is corrupt (${why}): found ${JSON.stringify(quoted)}${
      found.length > 64 ? ` and ${found.length - 64} characters more` : ""
    }. Something other than the result store wrote there: give each program its own prefix, and start the work again.`
  })
}
