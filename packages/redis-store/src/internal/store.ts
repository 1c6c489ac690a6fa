/**
 * The Redis result store. Per id, two keys, both in the id's hash slot
 * (`{<id>}`, so a Redis Cluster keeps them on one node):
 *
 * - `<prefix>{<id>}:r`: a hash, the record: `state` ("pending" | "done"),
 *   `exit` (the Exit as JSON), `kind`/`message` (how an interrupted run ended),
 *   `owner` (host:pid), `node` (the owner store's token), `waiter` (the
 *   retriever store's token), `cancel` ("1" once the retriever asked).
 * - `<prefix>{<id>}:c`: the claim, set once (`SET NX`) by the one retriever.
 *
 * Per store (one per process, usually), two more:
 *
 * - `<prefix>alive:<token>`: the store's heartbeat while it owns running
 *   work, refreshed every `ownerHeartbeat` with a time-to-live of `ownerLostAfter`.
 * - `<prefix>p:<token>`: its sharded pub/sub channel (`SSUBSCRIBE`), the one
 *   subscription of the store: "d [id, exit, kind, message]" (done: the Exit
 *   itself) and "w <id>" (look at the record again) for the waits; "c <id>"
 *   (cancel) and "k <id> <token>" (claimed by that store) for the owner.
 *
 * Nothing polls: a retriever subscribes, then claims (the claim names its
 * channel in the record), and the owner's publish, atomic with the claim,
 * says whom to wake. After a lost subscription a store subscribes again and
 * looks again at every pending wait and owned result. Owner liveness is
 * one `EXISTS` per distinct owner per `ownerHeartbeat`, however many waits.
 */
import { Cancelled, ReactorStopped, type Reactor, ResultNotFound, type EventualResult, type ResultStore } from "@crochet/core"
import { stopCause } from "@crochet/core/Bridge"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { hostname } from "node:os"
import { CorruptResult, OwnerLost, StoreUnavailable, UnencodableResult } from "../Errors.ts"
import type { ExitCodec } from "./codec.ts"
import { type Backend, script } from "./connection.ts"

export interface StoreSettings {
  readonly prefix: string
  readonly ttl: Duration.Duration
  readonly ownerHeartbeat: Duration.Duration
  readonly ownerLostAfter: Duration.Duration
  readonly commandTimeout: Duration.Duration
  readonly codec: ExitCodec
}

/**
 * The retriever claims the id and names its channel. Replies `[-1]` when
 * someone else claimed it, `[0]` when there is no record yet (the owner's
 * first write is on its way), `[1, owner, node]` while pending, and
 * `[2, exit, kind, message, node]` when done (the record is then deleted: read once).
 * Claiming again with the same token (a retry whose reply was lost) is the same claim.
 * With ARGV[5] (the owner's channel, less its token; on one node only: a cluster's
 * script cannot publish to another slot), a pending owner hears of the claim at once:
 * `ARGV[6]` is the message.
 */
const claimScript = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] and not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then
  return { -1 }
end
local f = redis.call('HMGET', KEYS[1], 'state', 'exit', 'kind', 'message', 'owner', 'node')
if f[1] == 'done' then
  redis.call('DEL', KEYS[1])
  return { 2, f[2], f[3], f[4], f[6] }
end
redis.call('HSET', KEYS[1], 'waiter', ARGV[2])
if not f[1] then
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  return { 0 }
end
if ARGV[5] ~= '' and f[6] then redis.call('SPUBLISH', ARGV[5] .. f[6], ARGV[6]) end
return { 1, f[5], f[6] }`)

/** A woken retriever looks again: like the claim's reply, without claiming. */
const lookScript = script(`
local f = redis.call('HMGET', KEYS[1], 'state', 'exit', 'kind', 'message', 'owner', 'node')
if f[1] == 'done' then
  redis.call('DEL', KEYS[1])
  return { 2, f[2], f[3], f[4], f[6] }
end
if not f[1] then return { 0 } end
return { 1, f[5], f[6] }`)

/** The owner starts: a pending record. Replies the waiter's token (or "") and whether a cancel is already asked. */
const startScript = script(`
redis.call('HSET', KEYS[1], 'state', 'pending', 'owner', ARGV[2], 'node', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'waiter', 'cancel')
return { f[1] or '', f[2] or '' }`)

/**
 * The owner is done: the Exit, once (a later publish, say at shutdown, does
 * not overwrite it). Replies the waiter's token, "" when nobody claimed it
 * yet, or false when it was already published.
 */
const publishScript = script(`
if redis.call('HGET', KEYS[1], 'state') == 'done' then return false end
redis.call('HSET', KEYS[1], 'state', 'done', 'exit', ARGV[2], 'kind', ARGV[3], 'message', ARGV[4], 'owner', ARGV[5], 'node', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return redis.call('HGET', KEYS[1], 'waiter') or ''`)

/** Work that outlives the time-to-live keeps its record and claim while its owner is alive. */
const extendScript = script(`
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`)

/**
 * The retriever asks the owner to cancel, if the claim is its own (or, when
 * it was interrupted before its claim landed, nobody's: then it claims now).
 * The request stays in the record (an owner that has not started yet sees it
 * then). Replies the owner's token ("" when unknown yet), or false.
 */
const cancelScript = script(`
local holder = redis.call('GET', KEYS[2])
if not holder then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  holder = ARGV[1]
end
if holder ~= ARGV[1] then return false end
if redis.call('HGET', KEYS[1], 'state') == 'done' then return false end
redis.call('HSET', KEYS[1], 'cancel', '1')
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('HGET', KEYS[1], 'node') or ''`)

/** Our ids: the stash time in base 36, a dot, a UUID. Anything else is not ours. */
const idPattern = /^([0-9a-z]{1,11})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const maxIdLength = 48

const ownerName = `${hostname()}:${process.pid}`

type Look =
  | readonly [-1]
  | readonly [0]
  | readonly [1, string | null, string | null]
  | readonly [2, string, string | null, string | null, string | null]

/** One pending wait of this store: woken by its channel, a reconnect, or the liveness check. */
class Wait {
  /** The owner store's token, once known. */
  node: string | undefined
  woken = false
  ownerGone = false
  /** The owner's Exit, when its wake-up carried it. */
  delivered: Look | undefined
  failure: StoreUnavailable | undefined
  private resume: (() => void) | undefined

  wake(): void {
    this.woken = true
    this.signal()
  }
  deliver(look: Look): void {
    this.delivered = look
    this.signal()
  }
  fail(error: StoreUnavailable): void {
    this.failure = error
    this.signal()
  }
  lostOwner(): void {
    this.ownerGone = true
    this.signal()
  }

  /** Until something happened. */
  readonly next: Effect.Effect<void> = Effect.callback((resume) => {
    if (this.woken || this.ownerGone || this.failure !== undefined || this.delivered !== undefined) return resume(Effect.void)
    this.resume = () => resume(Effect.void)
    return Effect.sync(() => {
      this.resume = undefined
    })
  })

  private signal(): void {
    const resume = this.resume
    this.resume = undefined
    resume?.()
  }
}

/** A result this store stashed and nobody has claimed yet, as far as it knows. */
interface Stashed {
  readonly result: EventualResult.EventualResult<unknown, unknown>
  /** When it can no longer be retrieved (ms, `Date.now()` time). */
  expiresAt: number
}

export class Store implements ResultStore.ResultStore {
  private readonly backend: Backend
  private readonly settings: StoreSettings
  private readonly token = globalThis.crypto.randomUUID()
  private readonly channel: string
  private readonly waits = new Map<string, Wait>()
  /** Work this store owns that is still running: cancel requests reach it here. */
  private readonly owned = new Map<string, EventualResult.EventualResult<unknown, unknown>>()
  /** Stashed results not known to be claimed, oldest first: failures among them are reported at shutdown. */
  private readonly stashed = new Map<string, Stashed>()
  /** Who claimed owned work that is still running, when this store knows: its publish wakes them at once. */
  private readonly waiters = new Map<string, string>()
  private subscribed = false
  /** Set while the subscription is lost: since when. */
  private lostSince: number | undefined
  private lastBeat = 0
  private lastExtend = 0
  private keeper: Fiber.Fiber<void> | undefined

  constructor(backend: Backend, settings: StoreSettings) {
    this.backend = backend
    this.settings = settings
    this.channel = this.channelOf(this.token)
  }

  stash(result: EventualResult.EventualResult<unknown, unknown>, runner: Reactor.Reactor<never>): string {
    const down = this.backend.knownDown()
    if (down !== undefined) throw down
    const id = `${Date.now().toString(36)}.${globalThis.crypto.randomUUID()}`
    const exit = result.poll()
    this.forgetExpired(runner)
    if (exit !== undefined) {
      const encoded = this.settings.codec.encodeExit(exit, id)
      if (encoded instanceof UnencodableResult) throw encoded
      if (exit._tag === "Failure") this.remember(id, result)
      runner.runInReactor(this.logFailure(id, this.tolerant(this.publishExit(id, exit, errorOfDone(result)))))
    } else {
      this.remember(id, result)
      this.owned.set(id, result)
      this.keep()
      runner.runInReactor(this.logFailure(id, this.own(id, result)))
    }
    return id
  }

  retrieve(id: string, runner: Reactor.Reactor<never>): EventualResult.EventualResult<unknown, unknown> {
    return runner.runInReactor(this.awaitRemote(id))
  }

  /** Failed results stashed here that, as far as this store knows, nobody retrieved (to be reported). */
  takeUnretrieved(): ReadonlyArray<readonly [string, EventualResult.EventualResult<unknown, unknown>]> {
    const entries = [...this.stashed].map(([id, { result }]) => [id, result] as const)
    this.stashed.clear()
    return entries
  }

  // --- the owner's side --------------------------------------------------------

  /** Publishes a pending result: cancel requests reach it while it runs, its Exit when done. */
  private own(id: string, result: EventualResult.EventualResult<unknown, unknown>): Effect.Effect<void, StoreUnavailable> {
    const { ttl } = this.settings
    const record = this.record(id)
    const self = this
    // Yielding the handle gives core's ReactorStopped or Cancelled for a run the reactor interrupted
    // (and, unlike wait(), leaves a failure's error object as it is, for the codec to render).
    const settled = Effect.map(Effect.exit(result), (exit) => exit._tag === "Failure" ? Cause.squash(exit.cause) : undefined)
    const start = self.tolerant(self.backend.eval<[string, string]>(startScript, [record], [millis(ttl), ownerName, self.token]))
    return Effect.gen(function*() {
      // The record first, as fast as can be (a retriever waits for it). The heartbeat lands before it (sent first
      // on the one connection; on a cluster, awaited first), so no retriever sees the record with the owner not alive.
      const wasSubscribed = self.subscribed
      const [, [, [waiter, cancel]]] = yield* Effect.all([
        self.tolerant(self.subscribe),
        self.backend.inOrder
          ? Effect.all([self.tolerant(self.beat), start], { concurrency: 2 })
          : Effect.all([self.tolerant(self.beat), start])
      ], { concurrency: 2 })
      // A cancel sent before we listened is in the record: read it again if we were not listening when it started.
      if (cancel === "1" || (!wasSubscribed && (yield* self.cancelAsked(id)))) result.cancel()
      if (waiter !== "") {
        self.waiters.set(id, waiter)
        yield* self.notify(waiter, `w ${id}`)
      }
      const error = yield* settled
      yield* Effect.uninterruptible(self.tolerant(self.publishExit(id, result.poll()!, error)))
    }).pipe(
      // Our reactor is shutting down (the work is being interrupted too): say so, rather than go silent.
      Effect.onInterrupt(() =>
        Effect.suspend(() =>
          // The work's own Exit (a shutdown interrupts it first, with its stop reason), else a shutdown's.
          this.publishExit(id, result.poll() ?? Exit.failCause(stopCause({ _tag: "Stop" })), undefined)
        ).pipe(Effect.ignore)
      ),
      Effect.ensuring(Effect.sync(() => {
        this.owned.delete(id)
        this.waiters.delete(id)
      }))
    )
  }

  private publishExit(id: string, exit: Exit.Exit<unknown, unknown>, error: unknown): Effect.Effect<void, StoreUnavailable> {
    if (exit._tag === "Success") this.stashed.delete(id)
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

  /** Stores the Exit and wakes the retriever, if one claimed it already. */
  private publish(id: string, exit: string, kind: string, message: string): Effect.Effect<void, StoreUnavailable> {
    // The Exit rides along: the retriever needs no round trip to read it. When this store already knows
    // who claimed it, the wake-up goes at once, right behind the publish. On one connection Redis runs
    // them in order: that is enough. On a cluster they go to different nodes: the wake-up goes again once
    // the publish landed, for a retriever that subscribed again meanwhile and looked before it did.
    const done = `d ${JSON.stringify([id, exit, kind, message])}`
    const known = this.waiters.get(id)
    const publish = Effect.flatMap(
      this.backend.eval<string | null>(publishScript, [this.record(id), this.claim(id)], [
        millis(this.settings.ttl),
        exit,
        kind,
        message,
        ownerName,
        this.token
      ]),
      (waiter) => {
        if (waiter === null || waiter === "" || (waiter === known && this.backend.inOrder)) return Effect.void
        this.stashed.delete(id)
        return this.notify(waiter, done)
      }
    )
    if (known === undefined) return publish
    this.stashed.delete(id)
    const early = this.notify(known, done)
    return Effect.asVoid(Effect.all([publish, this.backend.inOrder ? early : Effect.ignore(early)], { concurrency: 2 }))
  }

  private cancelAsked(id: string): Effect.Effect<boolean> {
    const record = this.record(id)
    return Effect.map(Effect.option(this.backend.send<string | null>(record, ["HGET", record, "cancel"])), (cancel) =>
      cancel._tag === "Some" && cancel.value === "1")
  }

  /** The owner's side runs unobserved: a failure to publish is logged, not lost. */
  private logFailure(id: string, effect: Effect.Effect<void, StoreUnavailable>): Effect.Effect<void> {
    return Effect.catch(effect, (error) =>
      Effect.logWarning(
        `Redis result store: the result stashed as ${id} could not be published, so retrieving it elsewhere will fail. ` +
          error.message
      ))
  }

  private remember(id: string, result: EventualResult.EventualResult<unknown, unknown>): void {
    this.stashed.set(id, { result, expiresAt: Date.now() + millis(this.settings.ttl) })
  }

  /**
   * Results past their time-to-live cannot be retrieved any more: forgotten
   * (oldest first, so this is cheap), a failure logged as the memory store
   * does. Done at the next stash.
   */
  private forgetExpired(runner: Reactor.Reactor<never>): void {
    const now = Date.now()
    for (const [id, entry] of this.stashed) {
      if (entry.expiresAt > now) break
      this.stashed.delete(id)
      if (this.owned.has(id)) {
        // Still running: kept while its owner is alive; look again later.
        this.stashed.set(id, { result: entry.result, expiresAt: now + millis(this.settings.ttl) })
        continue
      }
      const exit = entry.result.poll()
      if (exit?._tag === "Failure" && exit.cause.reasons.some((reason) => reason._tag !== "Interrupt")) {
        runner.runInReactor(Effect.logError(
          `Unhandled error in EventualResult (stashed as ${id} and expired unretrieved after its ttl ` +
            `(${Duration.format(this.settings.ttl)}))`,
          exit.cause
        ))
      }
    }
  }

  // --- the retriever's side ------------------------------------------------------

  /** Claims the id (once, across processes), then waits for the owner's Exit. Interrupting it asks the owner to cancel. */
  private awaitRemote(id: string): Effect.Effect<unknown, unknown> {
    const match = id.length <= maxIdLength ? idPattern.exec(id) : null
    if (match === null) return Effect.fail(new ResultNotFound(id))
    const stashedAt = Number.parseInt(match[1]!, 36)
    const { codec, commandTimeout, ownerLostAfter, ttl } = this.settings
    // How long after the stash the owner's first write may take: its connection and command, each within
    // commandTimeout, or an outage it rides out (ownerLostAfter).
    const firstWrite = millis(ownerLostAfter) + millis(commandTimeout)
    const self = this
    const token = globalThis.crypto.randomUUID()
    const keys = [this.record(id), this.claim(id)]
    const wait = new Wait()
    let lost = false
    const finishLook = (look: Look): Effect.Effect<unknown, unknown> | undefined => {
      if (look[0] === 1) wait.node = look[2] ?? undefined
      if (look[0] !== 2) return undefined
      const exit = codec.decodeExit(look[1], id)
      if (exit instanceof CorruptResult) return Effect.fail(exit)
      const owner = look[4]
      // A failure is its owner's to report at shutdown unless it hears that it was retrieved.
      const retrieved = exit._tag === "Failure" && owner !== null
        ? self.tellClaimed(id, owner)
        : Effect.void
      return Effect.andThen(retrieved, exit)
    }
    return Effect.gen(function*() {
      if (self.waits.has(id)) {
        lost = true
        return yield* Effect.fail(new ResultNotFound(id))
      }
      self.waits.set(id, wait)
      self.keep()
      // Subscribed before claiming: the owner's wake-up cannot come before we listen.
      yield* self.tolerant(self.subscribe)
      // On one node, the claim itself tells a pending owner who waits; on a cluster, the message below does.
      const told = self.backend.inOrder
      const claim = yield* self.tolerant(self.backend.eval<Look>(claimScript, keys, [
        token,
        self.token,
        millis(ttl),
        millis(ownerLostAfter) * 2,
        told ? self.channelOf("") : "",
        `k ${id} ${self.token}`
      ]))
      if (claim[0] === -1) {
        lost = true
        return yield* Effect.fail(new ResultNotFound(id))
      }
      const done = finishLook(claim)
      if (done !== undefined) return yield* done
      // Claimed while pending, on a cluster: tell the owner who waits, so that its publish wakes us without a round trip.
      if (claim[0] === 1 && claim[2] !== null && !told) yield* self.tellClaimed(id, claim[2])
      while (true) {
        if (wait.node === undefined) {
          // No record yet: its first write may still be on the way, for at most firstWrite after the stash.
          const left = stashedAt + firstWrite - Date.now()
          if (left > 0) yield* Effect.raceFirst(wait.next, Effect.sleep(Duration.millis(left)))
        } else {
          yield* wait.next
        }
        if (wait.failure !== undefined) return yield* Effect.fail(wait.failure)
        if (wait.delivered !== undefined) {
          // Read once: the record goes, in the background once this wait has resolved (it expires anyway).
          setImmediate(() => Effect.runFork(Effect.ignore(self.backend.send(keys[0]!, ["DEL", keys[0]!]))))
          return yield* finishLook(wait.delivered)!
        }
        const ownerGone = wait.ownerGone
        wait.woken = false
        wait.ownerGone = false
        const look = yield* self.tolerant(self.backend.eval<Look>(lookScript, [keys[0]!], []))
        const result = finishLook(look)
        if (result !== undefined) return yield* result
        if (look[0] === 0 && Date.now() - stashedAt > firstWrite) return yield* Effect.fail(new ResultNotFound(id))
        if (look[0] === 1 && ownerGone) {
          return yield* Effect.fail(
            new OwnerLost({
              id,
              message: `The process that stashed ${id} (${look[1] ?? "unknown"}) stopped refreshing its heartbeat for ` +
                `${Duration.format(ownerLostAfter)} before the result was ready: it died or lost Redis. ` +
                "The work is lost; start it again."
            })
          )
        }
      }
    }).pipe(
      Effect.ensuring(Effect.sync(() => {
        if (self.waits.get(id) === wait) self.waits.delete(id)
      })),
      Effect.onInterrupt(() =>
        lost ? Effect.void : Effect.ignore(
          Effect.flatMap(
            self.backend.eval<string | null>(cancelScript, keys, [token, millis(ttl)]),
            (node) => node === null || node === "" ? Effect.void : self.notify(node, `c ${id}`)
          )
        )
      )
    )
  }

  /**
   * A Redis outage is tolerated as long as a silent owner would be
   * (`ownerLostAfter`): the command is tried again meanwhile, then the
   * outage is the error (a wait's, or the owner's logged warning).
   */
  private tolerant<A>(effect: Effect.Effect<A, StoreUnavailable>): Effect.Effect<A, StoreUnavailable> {
    const limit = millis(this.settings.ownerLostAfter)
    const retry = Duration.min(this.settings.ownerHeartbeat, Duration.millis(100))
    const since = Date.now()
    const attempt: Effect.Effect<A, StoreUnavailable> = Effect.catch(effect, (error) =>
      this.backend.closed || Date.now() - since >= limit ? Effect.fail(error) : Effect.andThen(Effect.sleep(retry), attempt))
    return attempt
  }

  // --- this store's subscription, heartbeat and liveness checks ---------------------------

  /** Subscribed to this store's channel (once; again after it was lost). */
  private get subscribe(): Effect.Effect<void, StoreUnavailable> {
    if (this.subscribed) return Effect.void
    return Effect.tap(
      this.backend.subscribe(this.channel, (message) => this.onMessage(message), () => this.onLost()),
      () => Effect.sync(() => this.onSubscribed())
    )
  }

  private onMessage(message: string): void {
    const id = message.slice(2)
    switch (message[0]) {
      case "d": {
        const [doneId, exit, kind, text] = JSON.parse(id) as [string, string, string, string]
        // No owner to tell: its publish saw the claim.
        this.waits.get(doneId)?.deliver([2, exit, kind, text, null])
        break
      }
      case "w":
        this.waits.get(id)?.wake()
        break
      case "c":
        this.owned.get(id)?.cancel()
        break
      case "k": {
        // "k <id> <retriever's token>": claimed while pending; the publish can wake it at once.
        const [claimedId, waiter] = id.split(" ") as [string, string]
        this.stashed.delete(claimedId)
        if (this.owned.has(claimedId)) this.waiters.set(claimedId, waiter)
        break
      }
    }
  }

  private onLost(): void {
    this.subscribed = false
    this.lostSince ??= Date.now()
    this.keep()
  }

  /** (Again) subscribed: whatever was sent meanwhile may be lost, so every wait and owned result looks again. */
  private onSubscribed(): void {
    const wasLost = this.lostSince !== undefined
    this.subscribed = true
    this.lostSince = undefined
    if (!wasLost) return
    for (const wait of this.waits.values()) wait.wake()
    const owned = [...this.owned]
    if (owned.length === 0) return
    Effect.runFork(Effect.forEach(owned, ([id, result]) =>
      Effect.tap(this.cancelAsked(id), (asked) => asked ? Effect.sync(() => result.cancel()) : Effect.void), { discard: true }))
  }

  /** The heartbeat of this store's owned work: one key per store, not per result. */
  private get beat(): Effect.Effect<void, StoreUnavailable> {
    return Effect.suspend(() => {
      const now = Date.now()
      if (now - this.lastBeat < millis(this.settings.ownerHeartbeat)) return Effect.void
      return Effect.map(
        this.backend.send(this.aliveKey(this.token), ["SET", this.aliveKey(this.token), "1", "PX", String(millis(this.settings.ownerLostAfter))]),
        () => {
          this.lastBeat = now
        }
      )
    })
  }

  /**
   * One fiber per store while it has pending waits or owned work (it keeps
   * the process alive meanwhile, as the work would): every `ownerHeartbeat`,
   * subscribe again if needed, refresh the heartbeat, check that the owners
   * of the pending waits are alive.
   */
  private keep(): void {
    if (this.keeper !== undefined || this.backend.closed) return
    const self = this
    const round = Effect.gen(function*() {
      if (!self.subscribed) {
        yield* Effect.ignore(self.subscribe)
        if (!self.subscribed && self.lostSince !== undefined && Date.now() - self.lostSince >= millis(self.settings.ownerLostAfter)) {
          const error = self.backend.knownDown() ??
            new StoreUnavailable({ message: "The Redis result store lost its subscription and could not subscribe again." })
          for (const wait of self.waits.values()) wait.fail(error)
        }
      }
      if (self.owned.size > 0) {
        yield* Effect.ignore(self.beat)
        yield* self.extendOwned
      }
      yield* self.checkOwners
    })
    const loop = Effect.gen(function*() {
      while (self.waits.size > 0 || self.owned.size > 0) {
        yield* round
        yield* Effect.sleep(self.settings.ownerHeartbeat)
      }
    })
    const fiber = Effect.runFork(loop)
    this.keeper = fiber
    fiber.addObserver(() => {
      if (this.keeper === fiber) this.keeper = undefined
      if (this.waits.size > 0 || this.owned.size > 0) this.keep()
    })
  }

  /** Every half `ttl`, the records of work still running are kept for another `ttl`. */
  private get extendOwned(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const ttl = millis(this.settings.ttl)
      const now = Date.now()
      if (now - this.lastExtend < ttl / 2) return Effect.void
      this.lastExtend = now
      return Effect.forEach(
        [...this.owned.keys()],
        (id) => Effect.ignore(this.backend.eval(extendScript, [this.record(id), this.claim(id)], [ttl])),
        { discard: true }
      )
    })
  }

  /** One `EXISTS` per distinct owner of the pending waits; the waits of a gone owner look again. */
  private get checkOwners(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const byNode = new Map<string, Array<Wait>>()
      for (const wait of this.waits.values()) {
        if (wait.node === undefined || wait.node === this.token) continue
        const waits = byNode.get(wait.node)
        if (waits === undefined) byNode.set(wait.node, [wait])
        else waits.push(wait)
      }
      return Effect.forEach(byNode, ([node, waits]) =>
        Effect.ignore(Effect.tap(
          this.backend.send<number>(this.aliveKey(node), ["EXISTS", this.aliveKey(node)]),
          (alive) => alive === 0 ? Effect.sync(() => waits.forEach((wait) => wait.lostOwner())) : Effect.void
        )), { discard: true, concurrency: 16 })
    })
  }

  /** The owner learns who claimed its pending result (and that it was retrieved); a lost message costs a round trip, no more. */
  private tellClaimed(id: string, node: string): Effect.Effect<void> {
    if (node !== this.token) return Effect.ignore(this.notify(node, `k ${id} ${this.token}`))
    return Effect.sync(() => this.onMessage(`k ${id} ${this.token}`))
  }

  /** `SPUBLISH` to another store's channel. */
  private notify(node: string, message: string): Effect.Effect<void, StoreUnavailable> {
    const channel = this.channelOf(node)
    return Effect.asVoid(this.backend.send(channel, ["SPUBLISH", channel, message]))
  }

  private record(id: string): string {
    return `${this.settings.prefix}{${id}}:r`
  }
  private claim(id: string): string {
    return `${this.settings.prefix}{${id}}:c`
  }
  private aliveKey(node: string): string {
    return `${this.settings.prefix}alive:${node}`
  }
  private channelOf(node: string): string {
    return `${this.settings.prefix}p:${node}`
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

const millis = (duration: Duration.Duration): number => Math.max(1, Math.ceil(Duration.toMillis(duration)))
