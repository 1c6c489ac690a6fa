import * as Bridge from "@crochet/core/Bridge"
import * as Lazy from "./effectModules.ts"

/** Core's check of an options object: an unknown key is `InvalidArgument` naming the nearest known one. */
export const checkOptions = Bridge.checkOptions

/**
 * A `Duration.Input` as milliseconds (fractions allowed), `undefined` when
 * absent or infinite. Anything else throws core's `InvalidArgument` naming
 * `what`, by core's own rules (no silent NaN, negative or misspelt units).
 */
export const toMillis = (input: unknown, what: string): number | undefined => {
  const duration = Bridge.decodeDuration(input, what)
  return duration === undefined ? undefined : Number(Lazy.Duration().toNanosUnsafe(duration)) / 1e6
}

/** A duration in milliseconds as text for messages. */
export const formatMillis = (millis: number): string =>
  millis < 1 ? `${Math.round(millis * 1000)}µs` : millis < 1000 ? `${+millis.toFixed(1)}ms` : `${+(millis / 1000).toFixed(2)}s`

/**
 * The timeout (ms) of a call's options object (`with(options)`, `wait(options)`):
 * `undefined` when there are no options or no timeout. Anything but an object
 * with known keys is core's `InvalidArgument`, as in core's `waitFor`/`wait`:
 * `wait(100)` or `wait({ timout: 100 })` must not quietly mean "wait for ever".
 */
export const optionsTimeout = (options: unknown, what: string): number | undefined => {
  const checked = Bridge.checkOptions(options, callOptionKeys, what)
  return checked === undefined ? undefined : toMillis(checked.timeout, `${what}: options.timeout`)
}

const callOptionKeys = ["timeout"] as const
