/**
 * The errors of the Redis result store, besides `@crochet/core`'s own
 * (`ResultNotFound`, `ReactorStopped`, `Cancelled`). Each is a
 * `Data.TaggedError` with a message that says what to do. (A failure of the
 * work itself reaches the retriever as the error it was, rebuilt: see the
 * `errors` option of `RedisResultStore.make`.)
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Redis could not be reached (or did not answer within `commandTimeout`).
 * `stash()` throws it when the store already knows Redis is down; otherwise
 * the handle from `retrieve()` rejects with it. Ordinary reactor work
 * (`waitFor`, `runInReactor`) is not affected.
 *
 * @example
 * ```ts
 * import { StoreUnavailable } from "@crochet/redis-store"
 *
 * const error = new StoreUnavailable({ message: "Redis at redis://127.0.0.1:1 is unavailable", cause: undefined })
 * error._tag // => "StoreUnavailable"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The process that stashed the result stopped refreshing its heartbeat (it
 * died, or lost Redis) before the result was ready. A waiting `retrieve()`
 * handle rejects with it at most `ownerLostAfter` (plus one `ownerHeartbeat`)
 * after the last heartbeat.
 *
 * @example
 * ```ts
 * import { OwnerLost } from "@crochet/redis-store"
 *
 * const error = new OwnerLost({ id: "some-id", message: "The process that stashed some-id is gone" })
 * error._tag // => "OwnerLost"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class OwnerLost extends Data.TaggedError("OwnerLost")<{
  readonly message: string
  readonly id: string
}> {}

/**
 * A result could not be encoded for Redis (its value is not JSON: a function,
 * a `bigint`, a `Date`, `undefined` inside an object). Thrown by `stash()`
 * when the result is already complete; when it completes later, the store
 * keeps this error instead, so the retrieving side's wait rejects with it.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { RedisResultStore, UnencodableResult } from "@crochet/redis-store"
 *
 * const store = RedisResultStore.make({ url: "redis://127.0.0.1:1" })
 * const reactor = Reactor.setup(Layer.empty, { resultStore: store })
 * try {
 *   reactor.runInReactor(Effect.succeed(() => "a function")).stash()
 * } catch (error) {
 *   error instanceof UnencodableResult // => true
 * }
 * await store.close()
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class UnencodableResult extends Data.TaggedError("UnencodableResult")<{
  readonly message: string
}> {}

/**
 * What Redis holds for a result is not a result this store wrote: corrupted,
 * forged, or written by something else under the store's prefix. The
 * retriever's wait rejects with it; its message names the id and quotes at
 * most 64 characters of what was found. Other waits are not affected.
 *
 * @example
 * ```ts
 * import { CorruptResult } from "@crochet/redis-store"
 *
 * const error = new CorruptResult({ id: "some-id", message: 'The result stored for some-id in Redis is corrupt: found "garbage".' })
 * error._tag // => "CorruptResult"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CorruptResult extends Data.TaggedError("CorruptResult")<{
  readonly message: string
  readonly id: string
}> {}
