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

/** The durations are whole milliseconds (at least 1), as Redis expiries, Lua arguments and timers take them. */
export interface StoreSettings {
  readonly keys: Keys
  readonly ttl: number
  readonly ownerHeartbeat: number
  readonly ownerLostAfter: number
  readonly commandTimeout: number
  /** Connection attempts at most once a second, or every `ownerHeartbeat` if that is shorter. */
  readonly reconnectDelay: number
  readonly codec: ExitCodec
}

/** Whole milliseconds, at least 1. */
export const millis = (duration: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(duration)))

/** A duration of `StoreSettings` in words, for messages: "6s". */
export const formatMillis = (millis: number): string => Duration.format(Duration.millis(millis))

/**
 * Whether a heartbeat is due, `last` being the time (`Date.now()`) of the previous one. A timer set
 * for a heartbeat can fire a little early by `Date.now()`: within a tenth of it counts as due, so that
 * no beat is skipped (which would leave twice the heartbeat between two).
 */
export const heartbeatDue = (settings: StoreSettings, last: number, now: number): boolean =>
  now - last >= settings.ownerHeartbeat * 0.9

/**
 * A Redis outage is tolerated as long as a silent owner would be
 * (`ownerLostAfter`): the command is tried again meanwhile (every 100 ms, or
 * `ownerHeartbeat` if shorter), then the outage is the error. Other errors
 * (Redis answered) are not tried again, nor is anything once `giveUp()` says so.
 */
export const tolerant = <A, E extends { readonly _tag: string }>(
  connection: Connection,
  settings: StoreSettings,
  effect: Effect.Effect<A, E>,
  giveUp: () => boolean = () => false
): Effect.Effect<A, E> => {
  const retry = Math.min(settings.ownerHeartbeat, 100)
  return Effect.suspend(() => {
    // Counted from the first attempt, when it runs.
    const since = Date.now()
    const attempt: Effect.Effect<A, E> = Effect.catch(
      effect,
      (error) =>
        error._tag !== "StoreUnavailable" || connection.closed || Date.now() - since >= settings.ownerLostAfter ||
          giveUp()
          ? Effect.fail(error)
          : Effect.andThen(Effect.sleep(retry), attempt)
    )
    return attempt
  })
}
