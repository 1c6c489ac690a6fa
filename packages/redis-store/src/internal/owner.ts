/**
 * The owner's side: `result.stash()` gives an id at once and publishes the
 * result in the background: a pending record while the work runs (cancel
 * requests reach it through the store's channel), the Exit once done, which
 * wakes the retriever that claimed it. While it owns running work, the store
 * refreshes one heartbeat key (not one per result).
 */
import type { EventualResult, Reactor } from "@crochet/core"
import { stopCause } from "@crochet/core/Bridge"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { hostname } from "node:os"
import { type StoreUnavailable, UnencodableResult } from "../Errors.ts"
import { type Connection, WrongType } from "./connection.ts"
import type { Presence, Role } from "./presence.ts"
import * as Scripts from "./scripts.ts"
import { formatMillis, heartbeatDue, type StoreSettings, tolerant } from "./settings.ts"

const ownerName = `${hostname()}:${process.pid}`

/** A result this store stashed and nobody has claimed yet, as far as it knows. */
interface Stashed {
  readonly result: EventualResult.EventualResult<unknown, unknown>
  /** When it can no longer be retrieved (ms, `Date.now()` time). */
  expiresAt: number
}

type Failure = StoreUnavailable | WrongType

/** An Exit waiting to be published with the others of its tick, and the publish to resume with the outcome. */
interface Outgoing {
  readonly id: string
  readonly exit: string
  readonly resume: (outcome: Effect.Effect<void, Failure>) => void
}

/** A batch of publishes is one script: at most this many results, and this much encoded Exit (unless one alone is more). */
const maxBatch = 256
const maxBatchBytes = 1 << 20

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
  /** Exits to publish at the end of this tick, together. */
  private outgoing: Array<Outgoing> = []
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
      // Sent at once, ahead of a retrieve() that may follow in the same tick: its claim then finds the Exit.
      runner.runInReactor(this.logFailure(id, this.tolerant(this.publish(id, encoded, "now"))))
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
      const ttl = this.settings.ttl
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
        ttl,
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
   * Exit rides along: the retriever needs no round trip to read it. Exits
   * completed in the same tick go together (a burst is one script and one
   * message per retriever, not one each), at the end of the tick, or `"now"`
   * with those waiting: see `send`.
   */
  private publish(id: string, exit: string, when: "now" | "end of tick" = "end of tick"): Effect.Effect<void, Failure> {
    return Effect.callback<void, Failure>((resume) => {
      this.outgoing.push({ id, exit, resume })
      if (when === "now") this.flush()
      else if (this.outgoing.length === 1) process.nextTick(() => this.flush())
    })
  }

  /** Sends what is waiting to be published, in batches of a bounded size. */
  private flush(): void {
    const outgoing = this.outgoing
    if (outgoing.length === 0) return
    this.outgoing = []
    let batch: Array<Outgoing> = []
    let size = 0
    for (const one of outgoing) {
      if (batch.length === maxBatch || (batch.length > 0 && size + one.exit.length > maxBatchBytes)) {
        Effect.runFork(this.send(batch))
        batch = []
        size = 0
      }
      batch.push(one)
      size += one.exit.length
    }
    Effect.runFork(this.send(batch))
  }

  /**
   * Publishes a batch, and each publish learns its outcome. On one node the
   * script also wakes the retrievers, atomically with the publish. On a
   * cluster the Exits go to different nodes, one script each: the wake-ups
   * then go at once to the retrievers this store already knows of (beside
   * the publish), and again once the publish landed, for a retriever that
   * claimed meanwhile or subscribed again and looked before it did.
   */
  private send(batch: ReadonlyArray<Outgoing>): Effect.Effect<void> {
    const { keys, ttl } = this.settings
    const inOrder = this.connection.inOrder
    const pairs = batch.map(({ exit, id }) => JSON.stringify([id, exit]))
    const script = (items: ReadonlyArray<number>) =>
      this.connection.eval<ReadonlyArray<string | null>>(
        Scripts.publish,
        items.flatMap((i) => [keys.record(batch[i]!.id), keys.claim(batch[i]!.id)]),
        [
          ttl,
          ownerName,
          this.presence.token,
          inOrder ? keys.channel("") : "",
          ...items.flatMap((i) => [batch[i]!.exit, pairs[i]!])
        ]
      )
    /** A publish learns its outcome: the script's reply for it (see `Scripts.publish`), or the command's failure. */
    const settle = (one: Outgoing, reply: string | null | Failure): void => {
      if (typeof reply === "object" && reply !== null) return one.resume(Effect.fail(reply))
      if (typeof reply === "string" && reply.startsWith("!")) {
        return one.resume(Effect.fail(new WrongType({ reply: reply.slice(1) })))
      }
      if (reply !== null && reply !== "") this.stashed.delete(one.id)
      one.resume(Effect.void)
    }
    if (inOrder) {
      return Effect.match(script(batch.map((_, i) => i)), {
        onFailure: (error) => batch.forEach((one) => settle(one, error)),
        onSuccess: (reply) => batch.forEach((one, i) => settle(one, reply[i] ?? null))
      })
    }
    const replies: Array<string | null | Failure> = []
    const known = batch.flatMap((one, i) => {
      const waiter = this.waiters.get(one.id)
      if (waiter === undefined) return []
      this.stashed.delete(one.id)
      return [[waiter, i] as const]
    })
    const scripts = Effect.forEach(batch, (_, i) =>
      Effect.match(script([i]), {
        onFailure: (error) => (replies[i] = error),
        onSuccess: ([reply]) => (replies[i] = reply ?? null)
      }), { concurrency: "unbounded", discard: true })
    const learned = Effect.suspend(() =>
      this.wake(
        batch.flatMap((_, i) => {
          const reply = replies[i]
          return typeof reply === "string" && reply !== "" && !reply.startsWith("!") ? [[reply, i] as const] : []
        }),
        pairs
      )
    )
    return Effect.andThen(
      Effect.all([scripts, this.wake(known, pairs)], { concurrency: 2, discard: true }),
      Effect.andThen(learned, Effect.sync(() => batch.forEach((one, i) => settle(one, replies[i]!))))
    )
  }

  /** One "done" message per waiter, with the Exits of the batch it waits for (`pairs[i]`: result i's `[id, exit]`). */
  private wake(waiters: ReadonlyArray<readonly [string, number]>, pairs: ReadonlyArray<string>): Effect.Effect<void> {
    const byWaiter = new Map<string, Array<string>>()
    for (const [waiter, i] of waiters) {
      const mine = byWaiter.get(waiter)
      if (mine === undefined) byWaiter.set(waiter, [pairs[i]!])
      else mine.push(pairs[i]!)
    }
    return Effect.forEach(
      byWaiter,
      ([waiter, mine]) => Effect.ignore(this.presence.notify(waiter, `d [${mine.join(",")}]`)),
      { concurrency: "unbounded", discard: true }
    )
  }

  /** The heartbeat of this store's owned work: one key per store, not per result. */
  private get beat(): Effect.Effect<void, Failure> {
    return Effect.suspend(() => {
      const now = Date.now()
      if (!heartbeatDue(this.settings, this.lastBeat, now)) return Effect.void
      const alive = this.settings.keys.alive(this.presence.token)
      return Effect.map(
        this.connection.send(alive, ["SET", alive, "1", "PX", String(this.settings.ownerLostAfter)]),
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
    this.stashed.set(id, { result, expiresAt: Date.now() + this.settings.ttl })
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
        this.stashed.set(id, { result: entry.result, expiresAt: now + this.settings.ttl })
        continue
      }
      const exit = entry.result.poll()
      if (exit?._tag === "Failure" && exit.cause.reasons.some((reason) => reason._tag !== "Interrupt")) {
        runner.runInReactor(Effect.logError(
          `Unhandled error in EventualResult (stashed as ${id} and expired unretrieved after its ttl ` +
            `(${formatMillis(this.settings.ttl)}))`,
          exit.cause
        ))
      }
    }
  }
}
