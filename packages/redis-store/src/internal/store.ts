/**
 * The Redis result store. Per id, three keys under the prefix:
 *
 * - `<prefix>r:<id>`: a hash, the record: `state` ("pending" | "done"),
 *   `exit` (the Exit as JSON), `kind`/`message` (how an interrupted run ended),
 *   `owner` (host:pid), `cancel` ("1" once a retriever asked to cancel).
 * - `<prefix>a:<id>`: the owner's heartbeat, refreshed every `ownerHeartbeat`
 *   with a time-to-live of `ownerLostAfter` while the work runs.
 * - `<prefix>c:<id>`: the claim, set once (`SET NX`) by the one retriever.
 *
 * Record and claim live for `ttl`; the heartbeat extends both while the work
 * runs, the publish restarts both. The retriever deletes the record once read.
 *
 * Ids start with the stash time, so a retriever that finds no record yet (the
 * owner's first write is still on its way) waits for it at most
 * `ownerLostAfter`, and an unknown or expired id fails after that.
 */
import { Cancelled, ReactorStopped, ResultNotFound, type EventualResult, type ResultStore } from "@crochet/core"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redis from "effect/persistence/Redis"
import { hostname } from "node:os"
import { OwnerLost, StoreUnavailable, UnencodableResult } from "../Errors.ts"
import type { ExitCodec } from "./codec.ts"
import type { Backend } from "./connection.ts"

export interface StoreSettings {
  readonly prefix: string
  readonly ttl: Duration.Duration
  readonly ownerHeartbeat: Duration.Duration
  readonly ownerLostAfter: Duration.Duration
  readonly pollInterval: Duration.Duration
  readonly codec: ExitCodec
}

/**
 * Sets the claim once; 1 when the record exists, 0 when it does not (yet), -1
 * when someone else claimed it. Claiming again with the same token (a retry
 * whose first reply was lost) counts as the same claim.
 */
const claimScript = Redis.script(
  (record: string, claim: string, token: string, ttl: number) => [record, claim, token, ttl],
  {
    numberOfKeys: 2,
    lua: `
if redis.call('GET', KEYS[2]) ~= ARGV[1] and not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return -1
end
return redis.call('EXISTS', KEYS[1])`
  }
).withReturnType<number>()

/** The record and whether the owner is alive, read at once. */
const peekScript = Redis.script(
  (record: string, alive: string) => [record, alive],
  {
    numberOfKeys: 2,
    lua: `
local fields = redis.call('HMGET', KEYS[1], 'state', 'exit', 'kind', 'message', 'owner')
return { fields[1], fields[2], fields[3], fields[4], fields[5], redis.call('EXISTS', KEYS[2]) }`
  }
).withReturnType<[string | null, string | null, string | null, string | null, string | null, number]>()

/** The owner starts: a pending record and its first heartbeat. */
const startScript = Redis.script(
  (record: string, alive: string, ttl: number, lostAfter: number, owner: string) => [record, alive, ttl, lostAfter, owner],
  {
    numberOfKeys: 2,
    lua: `
redis.call('HSET', KEYS[1], 'state', 'pending', 'owner', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1`
  }
).withReturnType<number>()

/**
 * The owner is alive: its heartbeat, and the record and any claim kept alive
 * with it (work may run longer than the store's time-to-live).
 */
const heartbeatScript = Redis.script(
  (record: string, alive: string, claim: string, ttl: number, lostAfter: number) => [record, alive, claim, ttl, lostAfter],
  {
    numberOfKeys: 3,
    lua: `
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1`
  }
).withReturnType<number>()

/** The owner is done: the Exit, once (a later publish, say at shutdown, does not overwrite it). */
const publishScript = Redis.script(
  (record: string, alive: string, claim: string, ttl: number, exit: string, kind: string, message: string, owner: string) => [
    record,
    alive,
    claim,
    ttl,
    exit,
    kind,
    message,
    owner
  ],
  {
    numberOfKeys: 3,
    lua: `
if redis.call('HGET', KEYS[1], 'state') == 'done' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'exit', ARGV[2], 'kind', ARGV[3], 'message', ARGV[4], 'owner', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`
  }
).withReturnType<number>()

/**
 * A retriever asks the owner to cancel, if the claim is its own (or, when it
 * was interrupted before its claim landed, nobody's: then it claims now).
 * The record may not exist yet (the owner's first write is on its way): the
 * request then waits in it, with the store's time-to-live.
 */
const cancelScript = Redis.script(
  (record: string, claim: string, token: string, ttl: number) => [record, claim, token, ttl],
  {
    numberOfKeys: 2,
    lua: `
local holder = redis.call('GET', KEYS[2])
if not holder then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  holder = ARGV[1]
end
if holder ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'state') == 'done' then return 0 end
redis.call('HSET', KEYS[1], 'cancel', '1')
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`
  }
).withReturnType<number>()

const idPattern = /^([0-9a-z]{1,11})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const ownerName = `${hostname()}:${process.pid}`

export class Store implements ResultStore.ResultStore {
  private readonly connection: Backend
  private readonly settings: StoreSettings

  constructor(connection: Backend, settings: StoreSettings) {
    this.connection = connection
    this.settings = settings
  }

  stash(result: EventualResult.EventualResult<unknown, unknown>, runner: ResultStore.Runner): string {
    const down = this.connection.knownDown()
    if (down !== undefined) throw down
    const id = `${Date.now().toString(36)}.${globalThis.crypto.randomUUID()}`
    const exit = result.poll()
    if (exit !== undefined) {
      const encoded = this.settings.codec.encodeExit(exit, id)
      if (encoded instanceof UnencodableResult) throw encoded
      runner.runInReactor(this.logFailure(id, this.publishExit(id, exit, errorOfDone(result))))
    } else {
      runner.runInReactor(this.logFailure(id, this.own(id, result)))
    }
    return id
  }

  retrieve(id: string, runner: ResultStore.Runner): EventualResult.EventualResult<unknown, unknown> {
    return runner.runInReactor(this.awaitRemote(id))
  }

  /** Results stashed here may be retrieved by other processes until they expire: none is reported as lost. */
  takeUnretrieved(): ReadonlyArray<readonly [string, EventualResult.EventualResult<unknown, unknown>]> {
    return []
  }

  // --- the owner's side --------------------------------------------------------

  /** Publishes a pending result: heartbeat and cancel requests while it runs, its Exit when done. */
  private own(id: string, result: EventualResult.EventualResult<unknown, unknown>): Effect.Effect<void, StoreUnavailable> {
    const { ownerHeartbeat, ownerLostAfter, pollInterval, ttl } = this.settings
    const keys = this.keys(id)
    const connection = this.connection
    const beat = connection.use((redis) =>
      redis.eval(heartbeatScript)(keys.record, keys.alive, keys.claim, millis(ttl), millis(ownerLostAfter))
    )
    const heartbeat = Effect.forever(Effect.andThen(Effect.sleep(ownerHeartbeat), Effect.ignore(beat)))
    const watchCancel = Effect.forever(Effect.andThen(
      Effect.sleep(pollInterval),
      connection.use((redis) => redis.send<string | null>("HGET", keys.record, "cancel")).pipe(
        Effect.tap((cancel) => cancel === "1" ? Effect.sync(() => result.cancel()) : Effect.void),
        Effect.ignore
      )
    ))
    // Yielding the handle gives core's ReactorStopped or Cancelled for a run the reactor interrupted
    // (and, unlike wait(), leaves a failure's error object as it is, for the codec to render).
    const settled = Effect.map(Effect.exit(result), (exit) => exit._tag === "Failure" ? Cause.squash(exit.cause) : undefined)
    const self = this
    return Effect.gen(function*() {
      yield* connection.use((redis) =>
        redis.eval(startScript)(keys.record, keys.alive, millis(ttl), millis(ownerLostAfter), ownerName)
      )
      const error = yield* Effect.raceFirst(settled, Effect.all([heartbeat, watchCancel], { concurrency: 2 }))
      const exit = result.poll()!
      yield* Effect.uninterruptible(self.publishExit(id, exit, error))
    }).pipe(
      // Our reactor is shutting down (the work is being interrupted too): say so, rather than go silent.
      Effect.onInterrupt(() =>
        this.publish(
          id,
          this.settings.codec.encodeExit(Exit.failCause(Cause.interrupt()), id) as string,
          "ReactorStopped",
          `The reactor of the process that stashed ${id} (${ownerName}) shut down before the result was ready, ` +
            "so the work was interrupted."
        ).pipe(Effect.ignore)
      )
    )
  }

  private publishExit(id: string, exit: Exit.Exit<unknown, unknown>, error: unknown): Effect.Effect<void, StoreUnavailable> {
    const encoded = this.settings.codec.encodeExit(exit, id)
    if (encoded instanceof UnencodableResult) {
      return this.publish(id, this.settings.codec.encodeExit(Exit.fail(encoded), id) as string, "", "")
    }
    const onlyInterrupted = exit._tag === "Failure" && !exit.cause.reasons.some((reason) => reason._tag !== "Interrupt")
    if (onlyInterrupted && (error instanceof ReactorStopped || error instanceof Cancelled)) {
      return this.publish(id, encoded, error._tag, `${error.message} (in ${ownerName}, which stashed ${id})`)
    }
    return this.publish(id, encoded, "", "")
  }

  private publish(id: string, exit: string, kind: string, message: string): Effect.Effect<void, StoreUnavailable> {
    const keys = this.keys(id)
    return Effect.asVoid(this.connection.use((redis) =>
      redis.eval(publishScript)(keys.record, keys.alive, keys.claim, millis(this.settings.ttl), exit, kind, message, ownerName)
    ))
  }

  /** The owner's side runs unobserved: a failure to publish is logged, not lost. */
  private logFailure(id: string, effect: Effect.Effect<void, StoreUnavailable>): Effect.Effect<void> {
    return Effect.catch(effect, (error) =>
      Effect.logWarning(
        `Redis result store: the result stashed as ${id} could not be published, so retrieving it elsewhere will fail. ` +
          error.message
      ))
  }

  // --- the retriever's side ------------------------------------------------------

  /** Claims the id (once, across processes), then waits for the owner's Exit. Interrupting it asks the owner to cancel. */
  private awaitRemote(id: string): Effect.Effect<unknown, unknown> {
    const match = idPattern.exec(id)
    if (match === null) return Effect.fail(new ResultNotFound(id))
    const stashedAt = Number.parseInt(match[1]!, 36)
    const { codec, ownerLostAfter, pollInterval, ttl } = this.settings
    const keys = this.keys(id)
    const connection = this.connection
    const token = globalThis.crypto.randomUUID()
    let lost = false
    // A Redis outage is tolerated as long as a silent owner would be (ownerLostAfter), then it is the wait's error.
    let failingSince: number | undefined
    const use = <A>(f: (redis: Redis.Redis["Service"]) => Effect.Effect<A, Redis.RedisError>): Effect.Effect<A, StoreUnavailable> =>
      connection.use(f).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            failingSince = undefined
          })
        ),
        Effect.catch((error: StoreUnavailable): Effect.Effect<A, StoreUnavailable> => {
          const now = Date.now()
          failingSince ??= now
          if (connection.closed || now - failingSince >= millis(ownerLostAfter)) return Effect.fail(error)
          return Effect.andThen(Effect.sleep(pollInterval), use(f))
        })
      )
    return Effect.gen(function*() {
      const claim = yield* use((redis) => redis.eval(claimScript)(keys.record, keys.claim, token, millis(ttl)))
      if (claim === -1) {
        lost = true
        return yield* Effect.fail(new ResultNotFound(id))
      }
      while (true) {
        const [state, exit, kind, message, owner, alive] = yield* use((redis) =>
          redis.eval(peekScript)(keys.record, keys.alive)
        )
        if (state === "done" && exit !== null) {
          // Claimed and read: nobody can use the record any more (the claim stays, to refuse later retrieves).
          yield* Effect.ignore(connection.use((redis) => redis.send("DEL", keys.record)))
          return yield* finish(codec.decodeExit(exit), kind ?? "", message ?? "")
        }
        if (state === null) {
          // No record: its first write may still be on the way, for at most ownerLostAfter after the stash.
          if (Math.abs(Date.now() - stashedAt) > millis(ownerLostAfter)) return yield* Effect.fail(new ResultNotFound(id))
        } else if (alive === 0) {
          return yield* Effect.fail(
            new OwnerLost({
              id,
              message: `The process that stashed ${id} (${owner ?? "unknown"}) stopped refreshing its heartbeat for ` +
                `${Duration.format(ownerLostAfter)} before the result was ready: it died or lost Redis. ` +
                "The work is lost; start it again."
            })
          )
        }
        yield* Effect.sleep(pollInterval)
      }
    }).pipe(
      Effect.onInterrupt(() =>
        lost
          ? Effect.void
          : Effect.ignore(connection.use((redis) => redis.eval(cancelScript)(keys.record, keys.claim, token, millis(ttl))))
      )
    )
  }

  private keys(id: string) {
    const prefix = this.settings.prefix
    return { record: `${prefix}r:${id}`, alive: `${prefix}a:${id}`, claim: `${prefix}c:${id}` }
  }
}

/**
 * The error yielding a done handle gives: core's ReactorStopped or Cancelled
 * for a run the reactor interrupted (the Exit alone no longer says which).
 */
const errorOfDone = (result: EventualResult.EventualResult<unknown, unknown>): unknown => {
  const outcome = Effect.runSyncExit(result)
  return outcome._tag === "Failure" ? Cause.squash(outcome.cause) : undefined
}

/** The owner's Exit on the retriever's side: its Cause, or core's error for a run the owner interrupted. */
const finish = (exit: Exit.Exit<unknown, unknown>, kind: string, message: string): Effect.Effect<unknown, unknown> => {
  if (exit._tag === "Success" || kind === "") return exit
  const cause = exit.cause
  return Effect.fail(kind === "Cancelled" ? new Cancelled({ message, cause }) : new ReactorStopped({ message, cause }))
}

const millis = (duration: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(duration)))
