/**
 * The machinery of `EncodedCause.ts` (see there for what each part means):
 * a failed Exit's Cause as data, the two leaf policies, the rebuilding of
 * error classes, and the checking of untrusted input. Nothing of Effect is
 * imported here at load time: encoding and decoding load it on first use.
 */
import type * as Cause from "effect/Cause"
import type {
  EncodedCause,
  EncodedReason,
  EncodedStop,
  EncodedValue,
  EncodeOptions,
  ErrorClass,
  ErrorClasses,
  Leaves
} from "../EncodedCause.ts"
import { MalformedCause } from "../EncodedCause.ts"
import * as Errors from "../Errors.ts"
import { effectModules } from "./effectModules.ts"
import { stopCause, type StopReason, stopReasonOf } from "./stop.ts"
import { isError, ownSources, renderedFrames, withoutFramesIn, withoutStack } from "./traceback.ts"

/** How deep a chain of `cause`s is carried; deeper links are dropped. */
const maxCauseDepth = 8

// --- encoding ------------------------------------------------------------------

/** Parts of an error carried apart from its fields. An own `name` (a class field) stays a field. */
const apart = new Set(["message", "stack", "cause"])

export const encode = (cause: Cause.Cause<unknown>, options: EncodeOptions): EncodedCause => {
  const leaf = leafPolicies[options.leaves]
  const hidden = options.hideFramesIn
  const reasons: Array<EncodedReason> = []
  for (const reason of cause.reasons) {
    switch (reason._tag) {
      case "Fail":
        reasons.push({ _tag: "Fail", error: encodeValue(reason.error, leaf, hidden, 0, reason) })
        break
      case "Die":
        reasons.push({ _tag: "Die", defect: encodeValue(reason.defect, leaf, hidden, 0, reason) })
        break
      case "Interrupt":
        reasons.push({ _tag: "Interrupt" })
    }
  }
  const stop = stopReasonOf(cause)
  const pretty = prettyOf(cause)
  return stop === undefined ? { reasons, pretty } : { reasons, stop: encodeStop(stop, leaf, hidden), pretty }
}

const encodeValue = (
  value: unknown,
  leaf: (value: unknown) => unknown,
  hidden: string | undefined,
  depth: number,
  reason?: Cause.Fail<unknown> | Cause.Die
): EncodedValue => {
  if (!isError(value)) return { _tag: "Value", value: leaf(value) }
  try {
    const name = String(value.name)
    const message = String(value.message)
    const fields: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      if (!apart.has(key)) fields[key] = leaf((value as unknown as Record<string, unknown>)[key])
    }
    // A `_tag` from the prototype (a getter, a class field on it) still names the error's class.
    const tag = (value as { readonly _tag?: unknown })._tag
    if (typeof tag === "string") fields._tag = tag
    const frames = reason === undefined ? framesOf(value) : renderedFrames(reason)
    const cause = (value as { readonly cause?: unknown }).cause
    return {
      _tag: "Error",
      name,
      message,
      stack: `${headline(name, message)}${
        withoutFramesIn(ownSources, hidden === undefined ? frames : withoutFramesIn(hidden, frames))
      }`,
      fields,
      // A Cause (core's own errors hold one) crosses as the reasons around it, not here.
      ...(cause === undefined || isCause(cause) || depth >= maxCauseDepth
        ? {}
        : { cause: encodeValue(cause, leaf, hidden, depth + 1) })
    }
  } catch (error) {
    // A getter threw: say so rather than fail the encoding.
    return { _tag: "Value", value: `[${constructorName(value)} that could not be read: ${String(error)}]` }
  }
}

/** A stack's first line, as V8 writes it. */
const headline = (name: string, message: string): string => message === "" ? name : `${name}: ${message}`

/** An error's own stack, below its headline. */
const framesOf = (error: Error): string => {
  const stack = typeof error.stack === "string" ? error.stack : ""
  const newline = stack.indexOf("\n    at ")
  return newline < 0 ? "" : stack.slice(newline)
}

const encodeStop = (stop: StopReason, leaf: (value: unknown) => unknown, hidden: string | undefined): EncodedStop => {
  const { Duration } = effectModules()
  switch (stop._tag) {
    case "Timeout":
      return { _tag: "Timeout", millis: Duration.toMillis(stop.timeout) }
    case "Abort":
      return { _tag: "Abort", reason: encodeValue(stop.reason, leaf, hidden, 0) }
    case "Cancel":
      return { _tag: "Cancel" }
    case "Stop":
      return {
        _tag: "Stop",
        ...(stop.drain === undefined ? {} : { drainMillis: Duration.toMillis(stop.drain) }),
        ...(stop.stuck === undefined ? {} : { stuckMillis: Duration.toMillis(stop.stuck) })
      }
  }
}

const prettyOf = (cause: Cause.Cause<unknown>): string => {
  try {
    return effectModules().Cause.pretty(cause)
  } catch (error) {
    return `(Cause.pretty failed: ${String(error)})`
  }
}

/** `Cause.isCause`, without loading `effect/Cause`. */
const isCause = (value: unknown): boolean => typeof value === "object" && value !== null && "~effect/Cause" in value

// --- the leaf policies -------------------------------------------------------------

const describe = (value: unknown): string => {
  switch (typeof value) {
    case "function":
      return `[function ${value.name || "anonymous"}]`
    case "symbol":
      return value.toString()
    case "bigint":
      return `${value}n`
    case "object":
      return value === null ? "null" : `[${constructorName(value)}]`
    default:
      return String(value)
  }
}

const constructorName = (value: unknown): string => {
  try {
    const name = (value as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "" ? name : "object"
  } catch {
    return "object"
  }
}

/** Threads: what structured clone copies stays as it is; the rest becomes a description. */
const cloneLeaf = (value: unknown): unknown => {
  if (value === null || typeof value !== "object" && typeof value !== "function" && typeof value !== "symbol") {
    return value
  }
  try {
    structuredClone(value)
    return value
  } catch {
    return typeof value === "object" ? `[${constructorName(value)} (not cloneable)]` : describe(value)
  }
}

/** Redis: what `JSON.stringify` gives, but what it would lose or throw on becomes a description. */
const jsonLeaf = (value: unknown): unknown => {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return value
    case "number":
      return Number.isFinite(value) ? value : String(value)
    case "object":
      if (value === null) return null
      try {
        const text = JSON.stringify(value, jsonReplacer)
        return text === undefined ? describe(value) : JSON.parse(text)
      } catch (error) {
        return `[${constructorName(value)} (not JSON: ${error instanceof Error ? error.message : String(error)})]`
      }
    default:
      return describe(value)
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? value : String(value)
    case "bigint":
    case "function":
    case "symbol":
      return describe(value)
    case "object":
      if (value instanceof Map || value instanceof Set) return `[${constructorName(value)} of ${value.size}]`
      if (isError(value)) return `${value.name}: ${value.message}`
      return value
    default:
      return value
  }
}

const leafPolicies: Record<Leaves, (value: unknown) => unknown> = { structuredClone: cloneLeaf, json: jsonLeaf }

// --- error classes ---------------------------------------------------------------------

/** Core's own errors: always rebuilt as themselves. */
const coreErrors: ReadonlyArray<ErrorClass> = [
  Errors.Aborted,
  Errors.Cancelled,
  Errors.InvalidArgument,
  Errors.NonErrorFailure,
  Errors.ReactorStartFailed,
  Errors.ReactorStopped,
  Errors.ResultNotFound
]

export const errorClasses = (
  registered: unknown,
  what: string,
  toolkit: ReadonlyArray<ErrorClass> = []
): ErrorClasses => {
  if (registered !== undefined && !Array.isArray(registered)) {
    throw new Errors.InvalidArgument(
      `${what} must be a list of error classes, such as [NotFound, Timeout] (Data.TaggedError, ` +
        `Schema.TaggedError or Error subclasses); got ${describeInput(registered)}. A Schema of errors ` +
        "is not accepted: list its classes instead."
    )
  }
  const map = new Map<string, ErrorClass>()
  for (const constructor of [...coreErrors, ...toolkit]) map.set(keyOf(constructor), constructor)
  ;(registered as ReadonlyArray<unknown> | undefined)?.forEach((constructor, index) => {
    if (
      typeof constructor !== "function" || typeof constructor.prototype !== "object" || constructor.prototype === null
    ) {
      throw new Errors.InvalidArgument(
        `${what}[${index}] must be an error class (Data.TaggedError, Schema.TaggedError or an Error subclass); ` +
          `got ${describeInput(constructor)}.`
      )
    }
    map.set(keyOf(constructor as ErrorClass), constructor as ErrorClass)
  })
  return map
}

const describeInput = (value: unknown): string =>
  typeof value === "object" && value !== null ? `a ${constructorName(value)} object` : describe(value)

/** JavaScript's own error classes, found by name when the error has no `_tag`. */
const builtinErrors = new Map<string, ErrorClass>(
  [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError, AggregateError].map((c) => [c.name, c])
)

/** JavaScript's own error prototypes: a `name` found there does not name a class of the user's. */
const builtinPrototypes = new Set<object>([Error, ...builtinErrors.values()].map((c) => c.prototype))

/**
 * What a class is found by: the `_tag` or `name` its prototypes define
 * (`Data.TaggedError("NotFound")` puts `name = "NotFound"` there), else the
 * class's own name (`class E extends Error { name = "E" }`).
 */
const keyOf = (constructor: ErrorClass): string => {
  try {
    const tag = (constructor.prototype as { readonly _tag?: unknown })._tag
    if (typeof tag === "string") return tag
    for (
      let p: object | null = constructor.prototype;
      p !== null && !builtinPrototypes.has(p);
      p = Object.getPrototypeOf(p)
    ) {
      const name = Object.getOwnPropertyDescriptor(p, "name")?.value
      if (typeof name === "string" && name !== "") return name
    }
  } catch {
    // A getter threw: the class's own name still finds it.
  }
  return constructor.name
}

let effectErrors: ReadonlyMap<string, ErrorClass> | undefined

/** Effect's own errors (`Cause.TimeoutError`, ...), found by `_tag`; loaded with `effect/Cause`. */
const effectErrorsByTag = (): ReadonlyMap<string, ErrorClass> => {
  if (effectErrors !== undefined) return effectErrors
  const { Cause } = effectModules()
  const classes: ReadonlyArray<ErrorClass> = [
    Cause.TimeoutError,
    Cause.NoSuchElementError,
    Cause.IllegalArgumentError,
    Cause.ExceededCapacityError,
    Cause.UnknownError,
    Cause.AsyncFiberError
  ]
  return effectErrors = new Map(classes.map((c) => [keyOf(c), c]))
}

// --- decoding ---------------------------------------------------------------------------

export const decode = (encoded: EncodedCause, classes: ErrorClasses): Cause.Cause<unknown> =>
  withoutStack(() => {
    const { Cause } = effectModules()
    const stop = encoded.stop === undefined ? undefined : decodeStop(encoded.stop, classes)
    let stopPending = stop !== undefined
    const reasons: Array<Cause.Reason<unknown>> = encoded.reasons.map((reason) => {
      switch (reason._tag) {
        case "Fail":
          return Cause.makeFailReason(decodeValue(reason.error, classes))
        case "Die":
          return Cause.makeDieReason(decodeValue(reason.defect, classes))
        case "Interrupt":
          if (!stopPending) return Cause.makeInterruptReason()
          stopPending = false
          return stopCause(stop!).reasons[0]!
      }
    })
    if (stopPending) reasons.push(stopCause(stop!).reasons[0]!)
    return Cause.fromReasons(reasons)
  })

const decodeStop = (stop: EncodedStop, classes: ErrorClasses): StopReason => {
  const { Duration } = effectModules()
  switch (stop._tag) {
    case "Timeout":
      return { _tag: "Timeout", timeout: Duration.millis(stop.millis) }
    case "Abort":
      return { _tag: "Abort", reason: decodeValue(stop.reason, classes) }
    case "Cancel":
      return { _tag: "Cancel" }
    case "Stop":
      return {
        _tag: "Stop",
        drain: stop.drainMillis === undefined ? undefined : Duration.millis(stop.drainMillis),
        stuck: stop.stuckMillis === undefined ? undefined : Duration.millis(stop.stuckMillis)
      }
  }
}

const decodeValue = (encoded: EncodedValue, classes: ErrorClasses): unknown => {
  if (encoded._tag === "Value") return encoded.value
  const { fields, message, name } = encoded
  const tag = typeof fields._tag === "string" ? fields._tag : undefined
  const constructor = classes.get(tag ?? name) ??
    (tag === undefined ? builtinErrors.get(name) : effectErrorsByTag().get(tag))
  // A real Error (Error.isError holds) of that class, without running its constructor.
  const error = Reflect.construct(Error, [message], constructor ?? Error) as Error
  for (const key of Object.keys(fields)) {
    // Defined, not assigned: a field named `__proto__` stays a field.
    Object.defineProperty(error, key, { value: fields[key], writable: true, enumerable: true, configurable: true })
  }
  // The name may be an own field (`class E extends Error { name = "E" }`), or the class unknown here.
  if (error.name !== name) define(error, "name", name)
  define(error, "stack", encoded.stack ?? headline(name, message))
  if (encoded.cause !== undefined) define(error, "cause", decodeValue(encoded.cause, classes))
  return error
}

const define = (target: object, key: PropertyKey, value: unknown): void => {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
}

// --- untrusted input ----------------------------------------------------------------------

/** Thrown inside the checks below, turned into a `MalformedCause` by `decodeUnknown`. */
class Malformed {
  readonly why: string
  constructor(why: string) {
    this.why = why
  }
}

export const decodeUnknown = (input: unknown, classes: ErrorClasses): Cause.Cause<unknown> | MalformedCause => {
  try {
    return decode(checkCause(input), classes)
  } catch (error) {
    return new MalformedCause({
      message: `Not an encoded Cause: ${error instanceof Malformed ? error.why : String(error)}.`
    })
  }
}

const fail = (why: string): never => {
  throw new Malformed(why)
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const checkCause = (input: unknown): EncodedCause => {
  if (!isRecord(input)) return fail("expected an object")
  const { pretty, reasons, stop } = input
  if (!Array.isArray(reasons)) return fail("reasons is not an array")
  reasons.forEach((reason, index) => checkReason(reason, `reasons[${index}]`))
  if (stop !== undefined) checkStop(stop)
  if (typeof pretty !== "string") return fail("pretty is not a string")
  return input as unknown as EncodedCause
}

const checkReason = (reason: unknown, at: string): void => {
  if (!isRecord(reason)) return fail(`${at} is not an object`)
  switch (reason._tag) {
    case "Fail":
      return checkValue(reason.error, `${at}.error`, 0)
    case "Die":
      return checkValue(reason.defect, `${at}.defect`, 0)
    case "Interrupt":
      return
    default:
      return fail(`${at}._tag is not "Fail", "Die" or "Interrupt"`)
  }
}

const checkValue = (value: unknown, at: string, depth: number): void => {
  if (!isRecord(value)) return fail(`${at} is not an object`)
  if (value._tag === "Value") return
  if (value._tag !== "Error") return fail(`${at}._tag is not "Error" or "Value"`)
  if (typeof value.name !== "string") return fail(`${at}.name is not a string`)
  if (typeof value.message !== "string") return fail(`${at}.message is not a string`)
  if (value.stack !== undefined && typeof value.stack !== "string") return fail(`${at}.stack is not a string`)
  if (!isRecord(value.fields)) return fail(`${at}.fields is not an object`)
  if (value.cause !== undefined) {
    if (depth >= maxCauseDepth) return fail(`${at} has a chain of causes deeper than ${maxCauseDepth}`)
    checkValue(value.cause, `${at}.cause`, depth + 1)
  }
}

const isMillis = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value) && value >= 0

const checkStop = (stop: unknown): void => {
  if (!isRecord(stop)) return fail("stop is not an object")
  switch (stop._tag) {
    case "Timeout":
      return isMillis(stop.millis) ? undefined : fail("stop.millis is not a duration in milliseconds")
    case "Abort":
      return checkValue(stop.reason, "stop.reason", 0)
    case "Cancel":
      return
    case "Stop":
      if (stop.drainMillis !== undefined && !isMillis(stop.drainMillis)) {
        return fail("stop.drainMillis is not a duration")
      }
      if (stop.stuckMillis !== undefined && !isMillis(stop.stuckMillis)) {
        return fail("stop.stuckMillis is not a duration")
      }
      return
    default:
      return fail(`stop._tag is not "Timeout", "Abort", "Cancel" or "Stop"`)
  }
}
