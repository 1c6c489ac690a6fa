import { InvalidArgument } from "@crochet/core"
import * as Duration from "effect/Duration"

/**
 * A `Duration.Input` as milliseconds (fractions allowed), `undefined` when
 * absent or infinite. Throws core's `InvalidArgument` naming `what` for
 * anything else, instead of a silent default.
 */
export const toMillis = (input: unknown, what: string): number | undefined => {
  if (input === undefined) return undefined
  const invalid = () =>
    new InvalidArgument(
      `${what} must be a Duration.Input such as "5 seconds", 5000 (milliseconds) or Duration.seconds(5); ` +
        `got ${describe(input)}.`
    )
  if (typeof input === "number" && !(input >= 0)) throw invalid()
  if (typeof input === "object" && input !== null && !Duration.isDuration(input)) {
    // As in core: Effect would read { seconds: "soon" } or { millis: 5000 } as zero.
    for (const [key, value] of Object.entries(input)) {
      if (!Array.isArray(input) && !durationUnits.has(key)) throw invalid()
      if (typeof value !== "number" || Number.isNaN(value)) throw invalid()
    }
  }
  let duration: Duration.Duration
  try {
    duration = Duration.fromInputUnsafe(input as Duration.Input)
  } catch {
    throw invalid()
  }
  if (Duration.isNegative(duration)) throw invalid()
  if (!Duration.isFinite(duration)) return undefined
  return Number(Duration.toNanosUnsafe(duration)) / 1e6
}

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

/** A duration in milliseconds as text for messages. */
export const formatMillis = (millis: number): string =>
  millis < 1 ? `${Math.round(millis * 1000)}µs` : millis < 1000 ? `${+millis.toFixed(1)}ms` : `${+(millis / 1000).toFixed(2)}s`

/**
 * The timeout (ms) of a call's options object (`with(options)`, `wait(options)`):
 * `undefined` when there are no options or no timeout. Anything but an object
 * is core's `InvalidArgument`, as in core's `waitFor`/`wait`: `wait(100)` must
 * not quietly mean "wait for ever".
 */
export const optionsTimeout = (options: unknown, what: string): number | undefined => {
  if (options === undefined) return undefined
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgument(`${what}: options must be an object like { timeout: "1 second" }; got ${describe(options)}.`)
  }
  return toMillis((options as { readonly timeout?: unknown }).timeout, `${what}: options.timeout`)
}

/** A value as text for messages; never throws (a null-prototype object has no toString). */
const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return `a function${value.name ? ` (${value.name})` : ""}`
  if (typeof value === "object" && value !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "Object" ? `a ${name}` : "an object"
  }
  return typeof value === "bigint" ? `${value}n` : String(value)
}
