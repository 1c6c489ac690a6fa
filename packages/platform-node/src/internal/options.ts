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
  millis < 1
    ? `${Math.round(millis * 1000)}µs`
    : millis < 1000
    ? `${+millis.toFixed(1)}ms`
    : `${+(millis / 1000).toFixed(2)}s`

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

/**
 * A `lowLatency` option: off (`undefined`, `false`), `true` (the defaults),
 * or an object giving some of the defaults' keys as durations; in
 * milliseconds, `undefined` when off. Anything else is `InvalidArgument`.
 */
export const decodeLowLatency = <K extends string>(
  option: unknown,
  defaults: Readonly<Record<K, number>>,
  what: string
): Readonly<Record<K, number>> | undefined => {
  if (option === undefined || option === false) return undefined
  if (option === true) return defaults
  const keys = Object.keys(defaults) as Array<K>
  const given = checkOptions(option, keys, what)!
  const decoded: Record<K, number> = { ...defaults }
  for (const key of keys) decoded[key] = toMillis(given[key], `${what}.${key}`) ?? defaults[key]
  return decoded
}
