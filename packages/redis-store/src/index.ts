/**
 * @crochet/redis-store: a Redis-backed `ResultStore` for `@crochet/core`, so a
 * result stashed in one process can be retrieved and waited for in another.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as RedisResultStore from "./RedisResultStore.ts"

export {
  /**
   * A result found in Redis that cannot be decoded (`Errors.CorruptResult`).
   *
   * @since 0.1.0
   * @category errors
   */
  CorruptResult,
  /**
   * The process that owns a retrieved result went silent (`Errors.OwnerLost`).
   *
   * @since 0.1.0
   * @category errors
   */
  OwnerLost,
  /**
   * Redis could not be reached (`Errors.StoreUnavailable`).
   *
   * @since 0.1.0
   * @category errors
   */
  StoreUnavailable,
  /**
   * A result that is not JSON, so it cannot be shared (`Errors.UnencodableResult`).
   *
   * @since 0.1.0
   * @category errors
   */
  UnencodableResult
} from "./Errors.ts"
