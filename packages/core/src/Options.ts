/**
 * The rules `@crochet/core` applies to what callers pass in options, public so
 * that other bridges (threads, stores, your own integration) refuse the same
 * bad input with the same `InvalidArgument` message as `Reactor` does.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as internal from "./internal/options.ts"

/**
 * Decodes a user-given `Duration.Input` (`"5 seconds"`, `5000`, `Duration.seconds(5)`,
 * `{ seconds: 5 }`), refusing what Effect would silently turn into something
 * else: `NaN`, negative values, unknown units, misspelt fields. `undefined`
 * and `Infinity` mean "no limit" and decode to `undefined`. `what` names the
 * option in the error message.
 *
 * @example
 * ```ts
 * import { InvalidArgument, Options } from "@crochet/core"
 *
 * Options.decodeDuration("5 seconds", "timeout") // Duration of 5 seconds
 * Options.decodeDuration(undefined, "timeout") // undefined: no limit
 * try {
 *   Options.decodeDuration("5 secnds", "myCall: options.timeout")
 * } catch (error) {
 *   console.log(error instanceof InvalidArgument) // true, and the message names myCall: options.timeout
 * }
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeDuration: (input: unknown, what: string) => Duration.Duration | undefined = internal.decodeDuration

/**
 * A short description of any value for an error message (`"5 secnds"`,
 * `a Promise`, `a Map`, `42n`); never throws, even on a hostile Proxy.
 *
 * @example
 * ```ts
 * import { Options } from "@crochet/core"
 *
 * console.log(Options.describe(new Map())) // a Map
 * console.log(Options.describe("5 secnds")) // "5 secnds"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const describe: (value: unknown) => string = internal.describe
