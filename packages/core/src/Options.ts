/**
 * The checks every `@crochet` package runs on the options it is given, for
 * libraries built on a reactor to reuse: a misspelt key or a bad duration is
 * an `InvalidArgument` at the call, naming the fix, never a silent default.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as internal from "./internal/options.ts"

/**
 * Checks an options object given to `call`: `undefined` is fine (no
 * options); anything but an object, or a key not in `known`, throws
 * `InvalidArgument` naming the nearest known key ("did you mean
 * `timeout`?"). Returns the options, typed by their keys. Cheap enough for
 * every call (a loop over the given keys); still, check an options object
 * once where you can.
 *
 * @example
 * ```ts
 * import { Options } from "@crochet/core"
 *
 * const keys = ["timeout", "retries"] as const
 * Options.check({ timeout: "1 second" }, keys, "fetchAll")?.timeout // => "1 second"
 * try {
 *   Options.check({ timout: "1 second" }, keys, "fetchAll")
 * } catch (error) {
 *   console.log(String(error)) // InvalidArgument: fetchAll: unknown option `timout`; did you mean `timeout`? ...
 * }
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const check: <const K extends string>(
  options: unknown,
  known: ReadonlyArray<K>,
  call: string
) => { readonly [P in K]?: unknown } | undefined = internal.checkOptions

/**
 * Decodes a user-given `Duration.Input` (`"5 seconds"`, `5000`,
 * `Duration.seconds(5)`, `{ seconds: 5 }`) by the rules of every `@crochet`
 * call: `undefined` and `Infinity` mean no limit (`undefined`); NaN, a
 * negative duration, a misspelt unit (`"1 secnd"`, `{ millis: 5 }`) throw
 * `InvalidArgument` naming `what`.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Options } from "@crochet/core"
 *
 * Duration.toMillis(Options.decodeDuration("2 seconds", "options.timeout")!) // => 2000
 * Options.decodeDuration(Infinity, "options.timeout") // => undefined (no limit)
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const decodeDuration: (input: unknown, what: string) => Duration.Duration | undefined = internal.decodeDuration
