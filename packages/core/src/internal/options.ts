import type * as Duration from "effect/Duration"
import { InvalidArgument } from "../Errors.ts"
import { effectModules } from "./effectModules.ts"

/**
 * Decodes a user-given duration, refusing what Effect would silently turn
 * into something else (NaN becomes zero there) or cannot represent.
 * `Infinity` means "no limit" and decodes to `undefined`.
 */
export const decodeDuration = (input: unknown, what: string): Duration.Duration | undefined => {
  if (input === undefined) return undefined
  const before = decodedBefore(input)
  if (before !== undefined) return before ?? undefined
  // Loaded on first use: a bridge's calling side that is given no durations does without.
  const { Duration } = effectModules()
  if (Duration.isDuration(input)) return checked(input, input, what)
  const duration = decodeInput(input, what)
  if ((typeof input === "string" || typeof input === "number") && decoded.size < 256) {
    decoded.set(input, duration ?? null)
  }
  return duration
}

/** `decodeDuration` for `options.timeout` of `call`: a literal seen before costs one lookup, no message built. */
export const decodeTimeout = (input: unknown, call: string): Duration.Duration | undefined => {
  const before = decodedBefore(input)
  return before !== undefined ? before ?? undefined : decodeDuration(input, `${call}: options.timeout`)
}

/**
 * Most calls pass the same few literals ("5 seconds", 5000): each is decoded
 * once. `null` is a literal that means no limit.
 */
const decoded = new Map<string | number, Duration.Duration | null>()

/** What a literal decoded to before (`null`: no limit), or undefined if it is new. */
const decodedBefore = (input: unknown): Duration.Duration | null | undefined =>
  typeof input === "string" || typeof input === "number" ? decoded.get(input) : undefined

const invalidDuration = (input: unknown, what: string, why: string): InvalidArgument =>
  new InvalidArgument(
    `${what} must be a Duration.Input such as "5 seconds", 5000 (milliseconds) or Duration.seconds(5); ` +
      `got ${describe(input)} (${why}).`
  )

/** The fields of Effect's `Duration.DurationObject`. */
const durationUnits = new Set([
  "weeks",
  "days",
  "hours",
  "minutes",
  "seconds",
  "milliseconds",
  "microseconds",
  "nanoseconds"
])

const decodeInput = (input: unknown, what: string): Duration.Duration | undefined => {
  const { Duration } = effectModules()
  const invalid = (why: string) => invalidDuration(input, what, why)
  if (typeof input === "number" && Number.isNaN(input)) throw invalid("NaN")
  if (typeof input === "object" && input !== null && !Duration.isDuration(input)) {
    for (const [key, value] of Object.entries(input)) {
      // Effect reads only the units it knows: { millis: 5000 } would silently be zero.
      if (!Array.isArray(input) && !durationUnits.has(key)) {
        throw invalid(`unknown field ${JSON.stringify(key)}; the fields are ${[...durationUnits].join(", ")}`)
      }
      if (typeof value !== "number" || Number.isNaN(value)) throw invalid("every field must be a number")
    }
  }
  let duration: Duration.Duration
  try {
    duration = Duration.fromInputUnsafe(input as Duration.Input)
  } catch {
    throw invalid(
      typeof input === "string"
        ? "not a duration: write a number and a unit, the units being nanos, micros, millis, seconds, minutes, hours, days and weeks"
        : "not a duration"
    )
  }
  return checked(duration, input, what)
}

/** Refuses a negative duration; `Infinity` means no limit (`undefined`). */
const checked = (duration: Duration.Duration, input: unknown, what: string): Duration.Duration | undefined => {
  const { Duration } = effectModules()
  if (Duration.isNegative(duration)) throw invalidDuration(input, what, "it is negative")
  return Duration.isFinite(duration) ? duration : undefined
}

/**
 * Checks an options object: absent, or an object whose every key is known.
 * A misspelt key would otherwise be ignored in silence (`{ timout: "1 second" }`
 * waiting for ever), so it is refused, naming the nearest known key.
 */
export const checkOptions = <const K extends string>(
  options: unknown,
  known: ReadonlyArray<K>,
  call: string
): { readonly [P in K]?: unknown } | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidArgument(
      `${call}: options must be an object with the keys ${list(known)}; got ${describe(options)}.`
    )
  }
  for (const key in options) {
    if (!known.includes(key as K)) throw unknownKey(key, known, call)
  }
  return options as { readonly [P in K]?: unknown }
}

const list = (keys: ReadonlyArray<string>): string => keys.map((key) => `\`${key}\``).join(", ")

const unknownKey = (key: string, known: ReadonlyArray<string>, call: string): InvalidArgument => {
  const nearest = nearestKey(key, known)
  return new InvalidArgument(
    `${call}: unknown option \`${key}\`` + (nearest === undefined ? "." : `; did you mean \`${nearest}\`?`) +
      ` The options are ${list(known)}.`
  )
}

/**
 * The known key a misspelt one most likely meant: same letters in another
 * case, one containing the other, or within a few edits (one for a key of
 * up to 4 letters, else a third of its length, at least 2); `undefined` when
 * none is that close.
 */
export const nearestKey = (key: string, known: ReadonlyArray<string>): string | undefined => {
  const lower = key.toLowerCase()
  let best: string | undefined
  let bestDistance = (key.length <= 4 ? 1 : Math.max(2, Math.floor(key.length / 3))) + 1
  for (const candidate of known) {
    const other = candidate.toLowerCase()
    const distance = other === lower
      ? 0
      : Math.min(lower.length, other.length) >= 4 && (other.includes(lower) || lower.includes(other))
      ? 1
      : editDistance(lower, other)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
const editDistance = (a: string, b: string): number => {
  const rows: Array<Array<number>> = []
  for (let i = 0; i <= a.length; i++) {
    const row: Array<number> = [i]
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j)
        continue
      }
      const above = rows[i - 1]!
      let cost = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cost = Math.min(cost, rows[i - 2]![j - 2]! + 1)
      }
      row.push(cost)
    }
    rows.push(row)
  }
  return rows[a.length]![b.length]!
}

/** The keys of `wait` options, and of `waitFor`'s. */
export const waitKeys = ["timeout", "signal"] as const
export const waitForKeys = ["timeout", "signal", "spanName"] as const

/** Checks the options object of waitFor/wait (keys `known`) and decodes its timeout. */
export const decodeWaitOptions = (
  options: unknown,
  known: ReadonlyArray<string>,
  call: string
): { readonly timeout: Duration.Duration | undefined; readonly signal: AbortSignal | undefined } => {
  if (options === undefined) return noOptions
  return { timeout: decodeWaitTimeout(options, known, call), signal: (options as { signal?: AbortSignal }).signal }
}

const noOptions = { timeout: undefined, signal: undefined }

/**
 * `decodeWaitOptions` for a call that reads `options.signal` itself: checks
 * the options and returns the decoded timeout, allocating nothing.
 */
export const decodeWaitTimeout = (
  options: unknown,
  known: ReadonlyArray<string>,
  call: string
): Duration.Duration | undefined => {
  if (options === undefined) return undefined
  const { signal, timeout } = checkOptions(options, known, call)!
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgument(`${call}: options.signal must be an AbortSignal; got ${describe(signal)}.`)
  }
  return decodeTimeout(timeout, call)
}

/** The error for a value that is not an Effect, naming what was passed instead. */
export const notAnEffect = (value: unknown, call: string): InvalidArgument => {
  const hint = value instanceof Promise || (typeof value === "object" && value !== null && "then" in value)
    ? " It is a Promise: wrap it as Effect.promise(() => ...) so the reactor can interrupt it."
    : ""
  return new InvalidArgument(`${call} expects an Effect; got ${describe(value)}.${hint}`)
}

/** A short, safe description of any value for error messages; never throws (a Proxy may). */
export const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`
  if (typeof value === "bigint") return `${value}n`
  if (typeof value !== "object" || value === null) return String(value)
  if (value instanceof Promise) return "a Promise"
  try {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "Object" ? `a ${name}` : "an object"
  } catch {
    return "an object"
  }
}
