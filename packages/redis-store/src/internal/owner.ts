/**
 * The owner's side: `result.stash()` gives an id at once and publishes the
 * result in the background: a pending record while the work runs (cancel
 * requests reach it through the store's channel), the Exit once done, which
 * wakes the retriever that claimed it. While it owns running work, the store
 * refreshes one heartbeat key (not one per result).
 */
import { type EventualResult, type Reactor, ResultStore } from "@crochet/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
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

/** Work this store owns, from its stash until its Exit is published. */
interface Owned {
  readonly result: EventualResult.EventualResult<unknown, unknown>
  /** The reactor it runs in: its shutdown waits for the publish. */
  readonly runner: Reactor.Reactor<never>
  /** Its pending record is written: its Exit may be published (not before: it would be overwritten). */
  started: boolean
  /** Its work ended: its Exit is published once the record is written. */
  ended: boolean
}

/** An Exit waiting to be published with the others of its tick, and who learns the outcome. */
interface Outgoing {
  readonly id: string
  readonly exit: string
  /** The reactor of its work: once it is shutting down, the publish is tried once (a shutdown does not wait out an outage). */
  readonly runner: Reactor.Reactor<never>
  readonly done: (failure: Failure | undefined) => void
}

/**
 * Results of one reactor waiting to be published. While there are any, one
 * run of that reactor waits for them, so that its shutdown waits for their
 * publishes (the work of a shutdown publishes the reason it was stopped).
 */
interface Unpublished {
  count: number
  /** Ends that run, once it waits. */
  drained: (() => void) | undefined
}

/** A batch of publishes is one script: at most this many results, and this much encoded Exit (unless one alone is more). */
const maxBatch = 256
const maxBatchBytes = 1 << 20
/**
 * How long a publish script waits when every Exit of its batch reached its retriever first (ms): by
 * then the retrievers have mostly read and deleted the records, which the script then only finds gone
 * (a quarter of the Redis commands, and none of them during a burst's wake-ups). A wake-up lost all
 * the same (its connection dropped after Redis counted it) is covered this much later.
 */
const recordAfter = 10

export class Owner implements Role {
  private readonly connection: Connection
  private readonly presence: Presence
  private readonly settings: StoreSettings
  /** Work this store owns that is still running (or not published yet): cancel requests reach it here. */
  private readonly owned = new Map<string, Owned>()
  /** Per reactor, its results waiting to be published. */
  private readonly unpublished = new Map<Reactor.Reactor<never>, Unpublished>()
  /** Stashed results not known to be claimed, oldest first: failures among them are reported at shutdown. */
  private readonly stashed = new Map<string, Stashed>()
  /** Who claimed owned work that is still running, when this store knows: its publish wakes them at once. */
  private readonly waiters = new Map<string, string>()
  /** Exits to publish at the end of this tick, together. */
  private outgoing: Array<Outgoing> = []
  /** Publishes under way (sent, or their script held back `recordAfter`): `close` waits for them. */
  private readonly sending = new Set<Fiber.Fiber<void>>()
  /** Done by `close`: held-back scripts go at once, and no publish is tried again. */
  private readonly closing = Deferred.makeUnsafe<void>()
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
      this.hold(runner)
      // Sent at once, ahead of a retrieve() that may follow in the same tick: its claim then finds the Exit.
      this.publish({
        id,
        exit: encoded,
        runner,
        done: (failure) => {
          this.release(runner)
          this.published(id, result, failure)
        }
      }, "now")
    } else {
      const owned: Owned = { result, runner, started: false, ended: false }
      this.remember(id, result)
      this.owned.set(id, owned)
      this.presence.keep()
      this.hold(runner)
      runner.runInReactor(this.start(id, owned))
      // No fiber waits for the work: a burst of completions is a function call each.
      ResultStore.whenDone(result, () => {
        owned.ended = true
        if (owned.started) this.publishOwned(id, owned)
      })
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
      this.owned.get(body)?.result.cancel()
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

  /** A cancel request or a claim sent while nobody listened is in the record. */
  lookAgain(): void {
    const owned = [...this.owned]
    if (owned.length === 0) return
    Effect.runFork(Effect.forEach(owned, ([id, one]) => this.readAgain(id, one), { discard: true }))
  }

  /**
   * Writes a pending result's record (cancel requests reach it while it
   * runs), then lets its Exit be published. If the record cannot be
   * written, nothing is published (retrievers learn it from the record's
   * absence), and the failure is logged.
   */
  private start(id: string, owned: Owned): Effect.Effect<void> {
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
    const written = Effect.gen(function*() {
      // The record first, as fast as can be (a retriever waits for it).
      const wasSubscribed = self.presence.subscribed
      const [, [, [waiter, cancel]]] = yield* Effect.all([
        Effect.ignore(self.presence.subscribe),
        self.connection.inOrder ? Effect.all([beat, start], { concurrency: 2 }) : Effect.all([beat, start])
      ], { concurrency: 2 })
      if (cancel === "1") owned.result.cancel()
      if (waiter !== "") {
        self.waiters.set(id, waiter)
        yield* Effect.ignore(self.presence.notify(waiter, `w ${id}`))
      }
      // A cancel or a claim sent before we listened is in the record: read it again if we were not listening
      // when it started (else its publish would not know whom to wake first).
      if (!wasSubscribed) yield* self.readAgain(id, owned)
    })
    return this.logFailure(
      id,
      Effect.onExit(written, (exit) =>
        Effect.sync(() => {
          // Interrupted (our reactor is shutting down, and stopping the work too): its Exit says so once it ends.
          if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) return this.forgetOwned(id, owned)
          owned.started = true
          if (owned.ended) this.publishOwned(id, owned)
        }))
    )
  }

  /** Publishes the Exit of owned work that ended (its own Exit: its Cause carries the reason when the reactor ended it). */
  private publishOwned(id: string, owned: Owned): void {
    const exit = owned.result.poll()!
    if (exit._tag === "Success") this.stashed.delete(id)
    const encoded = this.settings.codec.encodeExit(exit, id)
    this.publish({
      id,
      exit: encoded instanceof UnencodableResult
        ? this.settings.codec.encodeExit(Exit.fail(encoded), id) as string
        : encoded,
      runner: owned.runner,
      done: (failure) => {
        this.forgetOwned(id, owned)
        this.published(id, owned.result, failure)
      }
    })
  }

  private forgetOwned(id: string, owned: Owned): void {
    if (this.owned.get(id) !== owned) return
    this.owned.delete(id)
    this.waiters.delete(id)
    this.release(owned.runner)
  }

  /** A publish landed, or failed: its failure is logged through the result's reactor (which may be shutting down). */
  private published(
    id: string,
    result: EventualResult.EventualResult<unknown, unknown>,
    failure: Failure | undefined
  ): void {
    if (failure === undefined) return
    Effect.runForkWith(ResultStore.contextOf(result) ?? Context.empty())(this.logFailure(id, Effect.fail(failure)))
  }

  /** One more result of `runner` to publish: its shutdown waits for it. */
  private hold(runner: Reactor.Reactor<never>): void {
    const known = this.unpublished.get(runner)
    if (known !== undefined) {
      known.count++
      return
    }
    const unpublished: Unpublished = { count: 1, drained: undefined }
    this.unpublished.set(runner, unpublished)
    const drained = Effect.callback<void>((resume) => {
      if (unpublished.count === 0) return resume(Effect.void)
      unpublished.drained = () => resume(Effect.void)
    })
    // Interrupted by the shutdown: still waits (a finalizer), while the work's stop is published.
    runner.runInReactor(Effect.onInterrupt(drained, () => drained))
  }

  private release(runner: Reactor.Reactor<never>): void {
    const unpublished = this.unpublished.get(runner)
    if (unpublished === undefined || --unpublished.count > 0) return
    this.unpublished.delete(runner)
    unpublished.drained?.()
  }

  /**
   * Stores the Exit and wakes the retriever, if one claimed it already. The
   * Exit rides along: the retriever needs no round trip to read it. Exits
   * completed in the same tick go together (a burst is one script and one
   * message per retriever, not one each), at the end of the tick, or `"now"`
   * with those waiting: see `send`.
   */
  private publish(one: Outgoing, when: "now" | "end of tick" = "end of tick"): void {
    this.outgoing.push(one)
    if (when === "now") this.flush()
    else if (this.outgoing.length === 1) process.nextTick(() => this.flush())
  }

  /**
   * Before the connection closes: what waits to be published is sent now,
   * held-back scripts too, each tried once. Resolves once all landed or failed.
   */
  close(): Promise<void> {
    Deferred.doneUnsafe(this.closing, Effect.void)
    this.flush()
    return Effect.runPromise(Effect.asVoid(Fiber.awaitAll([...this.sending])))
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
        this.sendTracked(batch)
        batch = []
        size = 0
      }
      batch.push(one)
      size += one.exit.length
    }
    this.sendTracked(batch)
  }

  /** Sends a batch in a fiber of its own, which `close` waits for. */
  private sendTracked(batch: ReadonlyArray<Outgoing>): void {
    const fiber = Effect.runFork(this.send(batch))
    this.sending.add(fiber)
    fiber.addObserver(() => this.sending.delete(fiber))
  }

  /**
   * Publishes a batch, and each publish learns its outcome. The retrievers
   * this store knows of are woken at once, the Exits in the message (they
   * need not wait for the script), and the script tells them once more to
   * look, in case that message was lost while they subscribed again. It also
   * wakes a retriever that claimed meanwhile: on one node the script itself,
   * atomically with the publish; on a cluster, where the Exits go to
   * different nodes (one script each), this store once the publish landed.
   */
  private send(batch: ReadonlyArray<Outgoing>): Effect.Effect<void> {
    const { keys, ttl } = this.settings
    const inOrder = this.connection.inOrder
    const pairs = batch.map(({ exit, id }) => JSON.stringify([id, exit]))
    /** The waiters this store knows of, with their result's index: they get the Exits first. */
    const known: Array<readonly [waiter: string, index: number]> = []
    // What the script (or, on a cluster, this store once it landed) tells the waiter: see `Scripts.publish`.
    const told = batch.map((one, i) => {
      const waiter = this.waiters.get(one.id)
      if (waiter === undefined) return pairs[i]!
      this.stashed.delete(one.id)
      known.push([waiter, i])
      return one.id
    })
    // A Redis outage is ridden out as for every command of the store (see `tolerant`), but by a shutdown or a close.
    const stopping = () => Deferred.isDoneUnsafe(this.closing) || batch.every((one) => one.runner.status !== "running")
    const script = (items: ReadonlyArray<number>) =>
      this.tolerant(
        this.connection.eval<ReadonlyArray<string | null>>(
          Scripts.publish,
          items.flatMap((i) => [keys.record(batch[i]!.id), keys.claim(batch[i]!.id)]),
          [
            ttl,
            ownerName,
            this.presence.token,
            inOrder ? keys.channel("") : "",
            ...items.flatMap((i) => [batch[i]!.exit, told[i]!])
          ]
        ),
        stopping
      )
    /** A publish learns its outcome: the script's reply for it (see `Scripts.publish`), or the command's failure. */
    const settle = (one: Outgoing, reply: string | null | Failure): void => {
      if (typeof reply === "object" && reply !== null) return one.done(reply)
      if (typeof reply === "string" && reply.startsWith("!")) return one.done(new WrongType({ reply: reply.slice(1) }))
      if (reply !== null && reply !== "") this.stashed.delete(one.id)
      one.done(undefined)
    }
    const woken = this.wake(known, pairs)
    if (inOrder) {
      const published = Effect.match(script(batch.map((_, i) => i)), {
        onFailure: (error) => batch.forEach((one) => settle(one, error)),
        onSuccess: (reply) => batch.forEach((one, i) => settle(one, reply[i] ?? null))
      })
      if (known.length === 0) return published
      // The script once the wake-ups landed (Redis sent them before it runs the script): `recordAfter` later
      // when every Exit of the batch reached its retriever, else at once.
      return Effect.flatMap(
        woken,
        (delivered) =>
          delivered && known.length === batch.length
            ? Effect.andThen(Effect.raceFirst(Effect.sleep(recordAfter), Deferred.await(this.closing)), published)
            : published
      )
    }
    const replies: Array<string | null | Failure> = []
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
        told
      )
    )
    return Effect.andThen(
      Effect.all([scripts, woken], { concurrency: 2, discard: true }),
      Effect.andThen(learned, Effect.sync(() => batch.forEach((one, i) => settle(one, replies[i]!))))
    )
  }

  /**
   * One message per waiter with the Exits of the batch it waits for
   * (`told[i]`: result i's `[id, exit]`), and one asking it to look again at
   * those it was sent already (`told[i]`: the bare id). Whether every
   * message reached its waiter's subscription.
   */
  private wake(
    waiters: ReadonlyArray<readonly [string, number]>,
    told: ReadonlyArray<string>
  ): Effect.Effect<boolean> {
    const byWaiter = new Map<string, { readonly done: Array<string>; readonly look: Array<string> }>()
    for (const [waiter, i] of waiters) {
      let mine = byWaiter.get(waiter)
      if (mine === undefined) byWaiter.set(waiter, mine = { done: [], look: [] })
      const part = told[i]!
      if (part.startsWith("[")) mine.done.push(part)
      else mine.look.push(part)
    }
    const messages: Array<readonly [waiter: string, message: string]> = []
    for (const [waiter, { done, look }] of byWaiter) {
      if (done.length > 0) messages.push([waiter, `d [${done.join(",")}]`])
      if (look.length > 0) messages.push([waiter, `w ${look.join(" ")}`])
    }
    return messages.length === 0 ? Effect.succeed(true) : this.presence.notifyEach(messages)
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

  /** Reads the record again for what was sent while this store did not listen: a cancel request, who claimed it. */
  private readAgain(id: string, owned: Owned): Effect.Effect<void> {
    const record = this.settings.keys.record(id)
    return Effect.ignore(
      Effect.map(
        this.connection.send<[string | null, string | null]>(record, ["HMGET", record, "cancel", "waiter"]),
        ([cancel, waiter]) => {
          if (waiter !== null && this.owned.get(id) === owned) this.waiters.set(id, waiter)
          if (cancel === "1") owned.result.cancel()
        }
      )
    )
  }

  private tolerant<A>(effect: Effect.Effect<A, Failure>, giveUp?: () => boolean): Effect.Effect<A, Failure> {
    return tolerant(this.connection, this.settings, effect, giveUp)
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
