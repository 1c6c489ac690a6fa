/**
 * The errors an outside caller can get from a reactor, besides the failures of
 * its own effects. Each one is a `Data.TaggedError`: it has a `_tag`, works
 * with `instanceof`, can be yielded in Effect code, and its message says what
 * went wrong and what to do about it. (The functions that turn a reactor's
 * failed Exit into the error an outside caller gets, for bridge authors, are
 * in `@crochet/core/Bridge`.) Importing it loads `effect/Data` and no more of
 * Effect: the rest of what a failure needs is loaded when the first failure
 * comes, so that a bridge's calling side stays lean. Effect's `TimeoutError` is exported by
 * `@crochet/core` (it is `Cause.TimeoutError` from `effect/Cause`).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import { effectModules } from "./internal/effectModules.ts"
import { CauseKey } from "./internal/traceback.ts"

/**
 * The reactor is shutting down or has shut down. New calls get it at once;
 * work that was still running when the reactor stopped was interrupted, and
 * `cause` holds that interruption's Cause.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ReactorStopped } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * await reactor.shutdown()
 * await reactor.waitFor(Effect.succeed(1))
 *   .catch((error) => error instanceof ReactorStopped) // => true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ReactorStopped extends Data.TaggedError("ReactorStopped")<{
  readonly message: string
  readonly cause?: Cause.Cause<unknown> | undefined
}> {
  /**
   * The error for a call made after shutdown began.
   *
   * @example
   * ```ts
   * import { ReactorStopped } from "@crochet/core"
   *
   * ReactorStopped.refused().message // => "The reactor is shut down (or shutting down) ..."
   * ```
   *
   * @since 0.1.0
   * @category constructors
   */
  static refused(): ReactorStopped {
    return new ReactorStopped({
      message: "The reactor is shut down (or shutting down) and refuses new work. " +
        "Set up a new reactor (Reactor.setup or Reactor.make) to run more."
    })
  }
}

/**
 * The work behind an `EventualResult` was cancelled with `result.cancel()`,
 * or interrupted by Effect code without a reason the reactor knows. `cause`
 * holds the interruption's Cause.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const result = Reactor.setup(Layer.empty).runInReactor(Effect.never)
 * result.cancel()
 * await result.wait().catch((error) => error._tag) // => "Cancelled"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class Cancelled extends Data.TaggedError("Cancelled")<{
  readonly message: string
  readonly cause: Cause.Cause<unknown>
}> {}

/**
 * An `AbortSignal` given to `waitFor` or `wait` was aborted. For `waitFor`
 * the work was interrupted (`cause` holds its Cause); for `wait` the work goes
 * on. `reason` is the signal's reason.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const controller = new AbortController()
 * const pending = Reactor.setup(Layer.empty).waitFor(Effect.never, { signal: controller.signal })
 * controller.abort()
 * await pending.catch((error) => error._tag) // => "Aborted"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class Aborted extends Data.TaggedError("Aborted")<{
  readonly message: string
  readonly reason: unknown
  readonly cause?: Cause.Cause<unknown> | undefined
}> {}

/**
 * `reactor.retrieve(id)` was given an id that is unknown, already retrieved,
 * or expired. Results are retrieved exactly once.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Reactor, ResultNotFound } from "@crochet/core"
 *
 * try {
 *   Reactor.setup(Layer.empty).retrieve("no-such-id")
 * } catch (error) {
 *   error instanceof ResultNotFound // => true
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ResultNotFound extends Data.TaggedError("ResultNotFound")<{
  readonly message: string
  /** The id asked for; only its first 64 characters when longer (ids come from outside: cookies, URLs). */
  readonly id: string
}> {
  constructor(id: string) {
    const shown = id.length > maxIdShown ? `${id.slice(0, maxIdShown)}…` : id
    super({
      id: shown,
      message:
        `No stashed result has the id ${JSON.stringify(shown)}${
          id.length > maxIdShown ? ` (${id.length} characters, longer than any id)` : ""
        }: it is unknown, was already retrieved ` +
        "(each stashed result can be retrieved once), or expired. Keep the EventualResult returned by the " +
        "first retrieve() if you need it again."
    })
  }
}

const maxIdShown = 64

/**
 * The reactor's layer failed to build, so the call could not run. `cause`
 * holds the layer's failure Cause. The next call builds the layer again.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.effectDiscard(Effect.fail("no database")))
 * await reactor.waitFor(Effect.void).catch((error) => error._tag) // => "ReactorStartFailed"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ReactorStartFailed extends Data.TaggedError("ReactorStartFailed")<{
  readonly message: string
  readonly cause: Cause.Cause<unknown>
}> {
  constructor(cause: Cause.Cause<unknown>) {
    super({
      cause,
      message: "The reactor could not start because its layer failed to build:\n" +
        indent(effectModules().Cause.pretty(cause)) +
        "\nFix the layer (or what it connects to); the next call builds it again."
    })
  }
}

/**
 * A call got an argument it cannot use: a malformed or negative duration, a
 * value that is not an Effect, an option of the wrong type. Thrown (or
 * rejected, for Promise-returning calls) at the call, never later.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * await Reactor.setup(Layer.empty).waitFor(Effect.void, { timeout: "soon" as any })
 *   .catch((error) => error._tag) // => "InvalidArgument"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly message: string
}> {
  constructor(message: string) {
    super({ message })
  }
}

/**
 * An effect failed with a value that is not an `Error` (a string, a plain
 * object). Promises reject with this wrapper so that the rejection has a
 * stack; `value` is the original failure.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * await Reactor.setup(Layer.empty).waitFor(Effect.fail("boom"))
 *   .catch((error) => error.value) // => "boom"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NonErrorFailure extends Data.TaggedError("NonErrorFailure")<{
  readonly message: string
  readonly value: unknown
}> {}

/**
 * The full Cause behind an error a reactor rejected with, or `undefined` for
 * any other value. Use it to see every failure of a run (a parallel `fail`
 * and `die`, a finalizer that failed during interruption), not only the first.
 *
 * @example
 * ```ts
 * import { Cause, Effect, Layer } from "effect"
 * import { causeOf, Reactor } from "@crochet/core"
 *
 * try {
 *   await Reactor.setup(Layer.empty).waitFor(Effect.failCause(Cause.combine(Cause.fail("a"), Cause.die("b"))))
 * } catch (error) {
 *   console.log(Cause.pretty(causeOf(error)!))
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const causeOf = (error: unknown): Cause.Cause<unknown> | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const cause = (error as { readonly [CauseKey]?: unknown })[CauseKey]
  if (isCause(cause)) return cause
  const standard = (error as { readonly cause?: unknown }).cause
  return isCause(standard) ? standard : undefined
}

/** `Cause.isCause`, without loading `effect/Cause` (and Effect's runtime with it) to check any error. */
const isCause = (value: unknown): value is Cause.Cause<unknown> =>
  typeof value === "object" && value !== null && causeTypeId in value

/** The brand of Causes (type-checked against Effect's own). */
const causeTypeId: typeof Cause.TypeId = "~effect/Cause"

const indent = (text: string): string => text.split("\n").map((line) => `  ${line}`).join("\n")
