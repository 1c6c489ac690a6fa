/**
 * The owner's side: `result.stash()` gives an id at once and publishes the
 * result in the background: a pending record while the work runs (cancel
 * requests reach it through the store's channel), the Exit once done, which
 * wakes the retriever that claimed it. While it owns running work, the store
 * refreshes one heartbeat key (not one per result).
 */
import type { EventualResult, Reactor } from "@crochet/core"
import { stopCause } from "@crochet/core/Bridge"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { hostname } from "node:os"
import { type StoreUnavailable, UnencodableResult } from "../Errors.ts"
import type { Connection, WrongType } from "./connection.ts"
import type { Presence, Role } from "./presence.ts"
import * as Scripts from "./scripts.ts"
import { heartbeatDue, millis, type StoreSettings, tolerant } from "./settings.ts"

const ownerName = `${hostname()}:${process.pid}`

/** A result this store stashed and nobody has claimed yet, as far as it knows. */
interface Stashed {
  readonly result: EventualResult.EventualResult<unknown, unknown>
  /** When it can no longer be retrieved (ms, `Date.now()` time). */
  expiresAt: number
}

type Failure = StoreUnavailable | WrongType

export class Owner implements Role {
  private readonly connection: Connection
  private readonly presence: Presence
  private readonly settings: StoreSettings
  /** Work this store owns that is still running: cancel requests reach it here. */
  private readonly owned = new Map<string, EventualResult.EventualResult<unknown, unknown>>()
  /** Stashed results not known to be claimed, oldest first: failures among them are reported at shutdown. */
  private readonly stashed = new Map<string, Stashed>()
  /** Who claimed owned work that is still running, when this store knows: its publish wakes them at once. */
  private readonly waiters = new Map<string, string>()
  private lastBeat = 0
  private lastExtend = 0

  constructor(connection: Connection, presence: Presence, settings: StoreSettings) {
    this.connection = connection
    this.presence = presence
    this.settings = settings
  }

  get busy(): boolean {
    return this.owned.size > 0
  }

  stash(result: EventualResult.EventualResult<unknown, unknown>, runner: Reactor.Reactor<never>): string {
    const down = this.connection.knownDown()
    if (down !== undefined) throw down
    const id = `${Date.now().toString(36)}.${globalThis.crypto.randomUUID()}`
    const exit = result.poll()
    this.forgetExpired(runner)
    if (exit !== undefined) {
      const encoded = this.settings.codec.encodeExit(exit, id)
      if (encoded instanceof UnencodableResult) throw encoded
      if (exit._tag === "Failure") this.remember(id, result)
      runner.runInReactor(this.logFailure(id, this.tolerant(this.publish(id, encoded))))
    } else {
      this.remember(id, result)
      this.owned.set(id, result)
      this.presence.keep()
      runner.runInReactor(this.logFailure(id, this.own(id, result)))
    }
    return id
  }

  /** Failed results stashed here that, as far as this store knows, nobody retrieved (to be reported). */
  takeUnretrieved(): ReadonlyArray<readonly [string, EventualResult.EventualResult<unknown, unknown>]> {
    const entries = [...this.stashed].map(([id, { result }]) => [id, result] as const)
    this.stashed.clear()
    return entries
  }

  onMessage(kind: string, body: string): void {
    if (kind === "c") {
      this.owned.get(body)?.cancel()
    } else if (kind === "k") {
      // "k <id> <retriever's token>": claimed; while pending, the publish can wake it at once.
      const [id, waiter] = body.split(" ")
      if (id === undefined || waiter === undefined) return
      this.stashed.delete(id)
      if (this.owned.has(id)) this.waiters.set(id, waiter)
    }
  }

  /** The heartbeat, and every half `ttl` the records of work still running kept for another `ttl`. */
  get round(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.owned.size === 0) return Effect.void
      const ttl = millis(this.settings.ttl)
      const now = Date.now()
      if (now - this.lastExtend < ttl / 2) return Effect.ignore(this.beat)
      this.lastExtend = now
      const { keys } = this.settings
      return Effect.andThen(
        Effect.ignore(this.beat),
        Effect.forEach(
          [...this.owned.keys()],
          (id) => Effect.ignore(this.connection.eval(Scripts.extend, [keys.record(id), keys.claim(id)], [ttl])),
          { discard: true }
        )
      )
    })
  }

  /** A cancel request sent while nobody listened is in the record. */
  lookAgain(): void {
    const owned = [...this.owned]
    if (owned.length === 0) return
    Effect.runFork(
      Effect.forEach(owned, ([id, result]) =>
        Effect.tap(this.cancelAsked(id), (asked) =>
          asked
            ? Effect.sync(() => result.cancel())
            : Effect.void), { discard: true })
    )
  }

  /** Publishes a pending result: cancel requests reach it while it runs, its Exit when done. */
  private own(id: string, result: EventualResult.EventualResult<unknown, unknown>): Effect.Effect<void, Failure> {
    const { keys, ttl } = this.settings
    const self = this
    const start = this.tolerant(
      this.connection.eval<[string, string]>(Scripts.start, [keys.record(id)], [
        millis(ttl),
        ownerName,
        this.presence.token
      ])
    )
    // The heartbeat lands before the record (sent first on the one connection; on a cluster, awaited first),
    // so that no retriever sees the record with the owner not alive. One try: its shard being down must
    // not keep the record from being written (retrievers then cannot check it, and go on waiting).
    const beat = Effect.ignore(this.beat)
    return Effect.gen(function*() {
      // The record first, as fast as can be (a retriever waits for it).
      const wasSubscribed = self.presence.subscribed
      const [, [, [waiter, cancel]]] = yield* Effect.all([
        Effect.ignore(self.presence.subscribe),
        self.connection.inOrder ? Effect.all([beat, start], { concurrency: 2 }) : Effect.all([beat, start])
      ], { concurrency: 2 })
      // A cancel sent before we listened is in the record: read it again if we were not listening when it started.
      if (cancel === "1" || (!wasSubscribed && (yield* self.cancelAsked(id)))) result.cancel()
      if (waiter !== "") {
        self.waiters.set(id, waiter)
        yield* Effect.ignore(self.presence.notify(waiter, `w ${id}`))
      }
      // Done: its own Exit (whose Cause carries the reason when the reactor ended the run).
      yield* Effect.exit(result)
      yield* Effect.uninterruptible(self.tolerant(self.publishExit(id, result.poll()!)))
    }).pipe(
      // Our reactor is shutting down (the work is being interrupted too): say so, rather than go silent.
      Effect.onInterrupt(() =>
        Effect.suspend(() =>
          // The work's own Exit (a shutdown interrupts it first, with its stop reason), else a shutdown's.
          this.publishExit(id, result.poll() ?? Exit.failCause(stopCause({ _tag: "Stop" })))
        ).pipe(Effect.ignore)
      ),
      Effect.ensuring(Effect.sync(() => {
        this.owned.delete(id)
        this.waiters.delete(id)
      }))
    )
  }

  private publishExit(id: string, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, Failure> {
    if (exit._tag === "Success") this.stashed.delete(id)
    const encoded = this.settings.codec.encodeExit(exit, id)
    return this.publish(
      id,
      encoded instanceof UnencodableResult ? this.settings.codec.encodeExit(Exit.fail(encoded), id) as string : encoded
    )
  }

  /**
   * Stores the Exit and wakes the retriever, if one claimed it already. The
   * Exit rides along: the retriever needs no round trip to read it. On one
   * node the script wakes it itself, atomically with the publish. On a
   * cluster they go to different nodes: when this store already knows who
   * claimed it, the wake-up goes at once, beside the publish, and again once
   * the publish landed, for a retriever that subscribed again meanwhile and
   * looked before it did.
   */
  private publish(id: string, exit: string): Effect.Effect<void, Failure> {
    const { keys, ttl } = this.settings
    const done = `d ${JSON.stringify([id, exit])}`
    const inOrder = this.connection.inOrder
    const publish = Effect.flatMap(
      this.connection.eval<string | null>(Scripts.publish, [keys.record(id), keys.claim(id)], [
        millis(ttl),
        exit,
        ownerName,
        this.presence.token,
        inOrder ? keys.channel("") : "",
        inOrder ? done : ""
      ]),
      (waiter) => {
        if (waiter === null || waiter === "") return Effect.void
        this.stashed.delete(id)
        return inOrder ? Effect.void : Effect.ignore(this.presence.notify(waiter, done))
      }
    )
    const known = this.waiters.get(id)
    if (known === undefined || inOrder) return publish
    this.stashed.delete(id)
    return Effect.asVoid(Effect.all([publish, Effect.ignore(this.presence.notify(known, done))], { concurrency: 2 }))
  }

  /** The heartbeat of this store's owned work: one key per store, not per result. */
  private get beat(): Effect.Effect<void, Failure> {
    return Effect.suspend(() => {
      const now = Date.now()
      if (!heartbeatDue(this.settings, this.lastBeat, now)) return Effect.void
      const alive = this.settings.keys.alive(this.presence.token)
      return Effect.map(
        this.connection.send(alive, ["SET", alive, "1", "PX", String(millis(this.settings.ownerLostAfter))]),
        () => {
          this.lastBeat = now
        }
      )
    })
  }

  private cancelAsked(id: string): Effect.Effect<boolean> {
    const record = this.settings.keys.record(id)
    return Effect.map(
      Effect.option(this.connection.send<string | null>(record, ["HGET", record, "cancel"])),
      (cancel) => cancel._tag === "Some" && cancel.value === "1"
    )
  }

  private tolerant<A>(effect: Effect.Effect<A, Failure>): Effect.Effect<A, Failure> {
    return tolerant(this.connection, this.settings, effect)
  }

  /** The owner's side runs unobserved: a failure to publish is logged, not lost. */
  private logFailure(id: string, effect: Effect.Effect<void, Failure>): Effect.Effect<void> {
    return Effect.catch(effect, (error) =>
      Effect.logWarning(
        `Redis result store: the result stashed as ${id} could not be published, so retrieving it elsewhere will fail. ` +
          (error._tag === "WrongType" ? `Its key holds another type of value: ${error.reply}` : error.message)
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
}
