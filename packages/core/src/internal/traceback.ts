import type * as Cause from "effect/Cause"
// A cycle (Errors.ts reads CauseKey), harmless: neither module uses the other at load time.
import { NonErrorFailure } from "../Errors.ts"
import { effectModules } from "./effectModules.ts"

/** Where a rejected error keeps its Cause (`causeOf` reads it). */
export const CauseKey: unique symbol = Symbol.for("@crochet/core/Cause") as never

/** Attaches a Cause to an error so that `causeOf` finds it; returns the error. */
export const attachCause = <E extends Error>(error: E, cause: Cause.Cause<unknown>): E => {
  Object.defineProperty(error, CauseKey, { value: cause, configurable: true, writable: true, enumerable: false })
  return error
}

const enrichedKey = Symbol.for("@crochet/core/enriched")

/**
 * The error an outside caller sees for a Cause that holds a failure or a
 * defect: the original error object (a non-Error value is wrapped in
 * `NonErrorFailure`), its `stack` showing Effect's rendering with the span
 * trace, and the whole Cause reachable through `causeOf(error)`.
 * The stack text is made when first read: code that only checks `_tag` pays
 * nothing for it. An error object is rewritten once; later calls return it.
 */
export const failureError = (cause: Cause.Cause<unknown>, reason: Cause.Fail<unknown> | Cause.Die): Error => {
  const value = reason._tag === "Fail" ? reason.error : reason.defect
  const error: Error = isError(value) ? value : nonErrorFailure(value)
  if (Object.prototype.hasOwnProperty.call(error, enrichedKey)) return error
  define(error, enrichedKey, true)
  attachCause(error, cause)
  originalStacks.set(error, Object.getOwnPropertyDescriptor(error, "stack"))
  defineLazyStack(error, () => {
    const frames = withoutFramesIn(ownSources, renderedFrames(reason))
    const others = cause.reasons.filter((other) => other !== reason && other._tag !== "Interrupt").length
    return `${headline(error)}${frames}` +
      (others > 0 ? `\n    [and ${others} more failure(s) in the same Cause: use causeOf(error) to see them]` : "")
  })
  return error
}

/**
 * The `stack` each error had before it was made a caller's error: its
 * rendering then already holds the span trace, and rendering it again
 * would repeat it.
 */
const originalStacks = new WeakMap<Error, PropertyDescriptor | undefined>()

/**
 * The stack lines Effect renders for one failure, below its headline: the
 * error's own frames, then the reason's span trace. Rendered from the stack
 * the error had before {@link failureError} rewrote it.
 */
export const renderedFrames = (reason: Cause.Fail<unknown> | Cause.Die): string => {
  const value = reason._tag === "Fail" ? reason.error : reason.defect
  const { Cause } = effectModules()
  const render = () => {
    const pretty = Cause.prettyErrors(Cause.fromReasons([reason]))[0]
    return pretty?.stack?.slice(`${pretty.name}: ${pretty.message}`.length) ?? ""
  }
  if (!isError(value) || !originalStacks.has(value)) return render()
  // Effect's renderer reads the error's own stack: let it see the original for a moment.
  const current = Object.getOwnPropertyDescriptor(value, "stack")
  try {
    setStack(value, originalStacks.get(value))
    return render()
  } finally {
    setStack(value, current)
  }
}

const setStack = (error: Error, descriptor: PropertyDescriptor | undefined): void => {
  try {
    if (descriptor === undefined) delete (error as { stack?: string }).stack
    else Object.defineProperty(error, "stack", descriptor)
  } catch {
    // A frozen error keeps its own stack.
  }
}

/** This package's own source directory (src/ or dist/): stack lines show it as a file URL or a path. */
export const ownSources = new URL("..", import.meta.url).pathname

/**
 * Drops the stack lines that point into `directory` (a URL's pathname): when a
 * bridge calls the user's `Effect.fn`, the span's call-site frame is the
 * bridge's own line, which says nothing to the user.
 */
export const withoutFramesIn = (directory: string, stack: string): string =>
  stack.includes(directory)
    ? stack.split("\n").filter((line) => !(line.startsWith("    at ") && line.includes(directory))).join("\n")
    : stack

/** Whether a value is an Error, also one from another realm (a `vm` context, the REPL). */
export const isError: (value: unknown) => value is Error = (Error as { isError?: (value: unknown) => value is Error })
  .isError ?? ((value: unknown): value is Error => value instanceof Error)

/** The first failure of a Cause (as `Cause.squash` picks it), or undefined when it holds only interruptions. */
export const primaryFailure = (cause: Cause.Cause<unknown>): Cause.Fail<unknown> | Cause.Die | undefined => {
  let die: Cause.Die | undefined
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") return reason
    if (reason._tag === "Die") die ??= reason
  }
  return die
}

/**
 * Appends the frames of the outside caller to `error.stack`. Called in the
 * `catch` of an async function that awaited the reactor, so V8's async stack
 * traces list the callers' awaiting functions (`at async handleRequest`) at
 * no cost on the success path. The frames are captured now but turned into
 * text only when someone reads `stack`, so releasing many callers at once
 * (a shutdown) stays cheap. Only the first caller's frames are added.
 */
export const addCallerFrames = (error: Error, below: Function): Error => {
  if (Object.prototype.hasOwnProperty.call(error, callerKey) || Error.captureStackTrace === undefined) return error
  define(error, callerKey, true)
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, below)
  const previous = Object.getOwnPropertyDescriptor(error, "stack")
  defineLazyStack(error, () => {
    const own = previous === undefined ? "" : previous.get ? previous.get.call(error) : previous.value
    const frames = holder.stack?.slice(holder.stack.indexOf("\n") + 1)
    return frames && frames.includes("    at ") ? `${own}\n${frames}` : own
  })
  return error
}

/** Makes `error.stack` a value computed on first read (and assignable as usual). */
const defineLazyStack = (error: Error, compute: () => string): void => {
  try {
    Object.defineProperty(error, "stack", {
      configurable: true,
      enumerable: false,
      get() {
        const stack = compute()
        define(error, "stack", stack)
        return stack
      },
      set(stack: unknown) {
        define(error, "stack", stack)
      }
    })
  } catch {
    // A frozen error keeps its own stack.
  }
}

const callerKey = Symbol.for("@crochet/core/callerFrames")

/** Runs `make` with stack capture turned off: errors whose own frames say nothing cost no capture. */
export const withoutStack = <A>(make: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** `Name: message`, or `Name: {fields}` for a tagged error made without a message. */
const headline = (error: Error): string => {
  if (error.message !== "") return `${error.name}: ${error.message}`
  const fields = Object.entries(error).filter(([key]) => key !== "_tag")
  return fields.length === 0 ? error.name : `${error.name}: ${format(Object.fromEntries(fields))}`
}

const nonErrorFailure = (value: unknown): NonErrorFailure =>
  withoutStack(() =>
    new NonErrorFailure({
      value,
      message: `The effect failed with a value that is not an Error: ${format(value)}. ` +
        "Fail with an Error (for example a Data.TaggedError) to get its own stack; the value is in error.value."
    })
  )

const format = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const define = (target: object, key: PropertyKey, value: unknown): void => {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
  } catch {
    // A frozen error keeps its own stack; the rejection still carries it.
  }
}
