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
        `got ${typeof input === "string" ? JSON.stringify(input) : String(input)}.`
    )
  if (typeof input === "number" && !(input >= 0)) throw invalid()
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

/** A duration in milliseconds as text for messages. */
export const formatMillis = (millis: number): string =>
  millis < 1 ? `${Math.round(millis * 1000)}µs` : millis < 1000 ? `${+millis.toFixed(1)}ms` : `${+(millis / 1000).toFixed(2)}s`
