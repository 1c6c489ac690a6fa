/**
 * @crochet/redis-store: a Redis-backed `ResultStore` for `@crochet/core`, so a
 * result stashed in one process can be retrieved and waited for in another.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as RedisResultStore from "./RedisResultStore.ts"

/** @since 0.1.0 */
export { CorruptResult, OwnerLost, StoreUnavailable, UnencodableResult } from "./Errors.ts"
