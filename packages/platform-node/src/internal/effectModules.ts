/**
 * The modules of Effect that only a failure (or a duration) needs on the
 * calling side, loaded on first use: `effect/Cause` and `effect/Exit` load Effect's whole
 * runtime (about 100 ms in a fresh process), which a thread that only makes
 * blocking calls has no other use for. Loaded with a synchronous `require`,
 * since a blocking call cannot await: Node (≥ 22.12), Bun and Deno keep one
 * module cache for `import` and `require`, so these are the very modules
 * (and classes, such as `Cause.TimeoutError`) that the user's `import` gets.
 */
import type * as CauseModule from "effect/Cause"
import type * as DurationModule from "effect/Duration"
import type * as ExitModule from "effect/Exit"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

let cause: typeof CauseModule | undefined
let duration: typeof DurationModule | undefined
let exit: typeof ExitModule | undefined

/** `effect/Cause`. */
export const Cause = (): typeof CauseModule => cause ??= require("effect/Cause") as typeof CauseModule

/** `effect/Duration` (lighter, but still 20 ms that a client given no durations does without). */
export const Duration = (): typeof DurationModule => duration ??= require("effect/Duration") as typeof DurationModule

/** `effect/Exit`. */
export const Exit = (): typeof ExitModule => exit ??= require("effect/Exit") as typeof ExitModule
