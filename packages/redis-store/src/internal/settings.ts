/**
 * The decoded options every role of the store shares, and the one rule they
 * share for Redis outages: a command is tried again for as long as a silent
 * owner would be waited for (`ownerLostAfter`).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { ExitCodec } from "./codec.ts"
import type { Connection } from "./connection.ts"
import type { Keys } from "./scripts.ts"

export interface StoreSettings {
  readonly keys: Keys
  readonly ttl: Duration.Duration
  readonly ownerHeartbeat: Duration.Duration
  readonly ownerLostAfter: Duration.Duration
  readonly commandTimeout: Duration.Duration
  readonly codec: ExitCodec
}

/** Whole milliseconds, at least 1 (Redis expiries and Lua arguments). */
export const millis = (duration: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(duration)))

/**
 * Whether a heartbeat is due, `last` being the time (`Date.now()`) of the previous one. A timer set
 * for a heartbeat can fire a little early by `Date.now()`: within a tenth of it counts as due, so that
 * no beat is skipped (which would leave twice the heartbeat between two).
 */
export const heartbeatDue = (settings: StoreSettings, last: number, now: number): boolean =>
  now - last >= millis(settings.ownerHeartbeat) * 0.9

/**
 * A Redis outage is tolerated as long as a silent owner would be
 * (`ownerLostAfter`): the command is tried again meanwhile (every 100 ms, or
 * `ownerHeartbeat` if shorter), then the outage is the error. Other errors
 * (Redis answered) are not tried again.
 */
export const tolerant = <A, E extends { readonly _tag: string }>(
  connection: Connection,
  settings: StoreSettings,
  effect: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const limit = millis(settings.ownerLostAfter)
  const retry = Duration.min(settings.ownerHeartbeat, Duration.millis(100))
  const since = Date.now()
  const attempt: Effect.Effect<A, E> = Effect.catch(
    effect,
    (error) =>
      error._tag !== "StoreUnavailable" || connection.closed || Date.now() - since >= limit
        ? Effect.fail(error)
        : Effect.andThen(Effect.sleep(retry), attempt)
  )
  return attempt
}
