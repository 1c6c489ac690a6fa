/**
 * The retriever's side: `reactor.retrieve(id)` claims the id (once, across
 * processes), then waits for the owner's Exit. Nothing polls while the
 * store's subscription is up: the owner's completion wakes the wait (its
 * Exit rides along), and the owners of the pending waits are checked once
 * per `ownerHeartbeat` (one `EXISTS` per owner, however many waits).
 * Interrupting the wait asks the owner to cancel.
 */
import { ResultNotFound } from "@crochet/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { CorruptResult, OwnerLost, type StoreUnavailable } from "../Errors.ts"
import { corrupt } from "./codec.ts"
import type { Connection, WrongType } from "./connection.ts"
import type { Presence, Role } from "./presence.ts"
import * as Scripts from "./scripts.ts"
import { formatMillis, type StoreSettings, tolerant } from "./settings.ts"

/** Our ids: the stash time in base 36, a dot, a UUID. Anything else is not ours. */
const idPattern = /^([0-9a-z]{1,11})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const maxIdLength = 48

/** One pending wait of this store: woken by its channel, a look again, or the liveness check. */
class Wait {
  /** The owner store's token, once the record named it. */
  ownerToken: string | undefined
  woken = false
  ownerGone = false
  /** The owner's Exit, when its wake-up carried it. */
  delivered: Scripts.Look | undefined
  private resume: (() => void) | undefined

  wake(): void {
    this.woken = true
    this.signal()
  }
  deliver(look: Scripts.Look): void {
    this.delivered = look
    this.signal()
  }
  lostOwner(): void {
    this.ownerGone = true
    this.signal()
  }

  /** Until something happened. */
  readonly next: Effect.Effect<void> = Effect.callback((resume) => {
    if (this.woken || this.ownerGone || this.delivered !== undefined) return resume(Effect.void)
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

export class Retriever implements Role {
  private readonly connection: Connection
  private readonly presence: Presence
  private readonly settings: StoreSettings
  private readonly waits = new Map<string, Wait>()
  /** Records read through a wake-up, to delete in one command (they expire anyway). */
  private readonly read: Array<string> = []

  constructor(connection: Connection, presence: Presence, settings: StoreSettings) {
    this.connection = connection
    this.presence = presence
    this.settings = settings
  }

  get busy(): boolean {
    return this.waits.size > 0
  }

  /** Claims the id (once, across processes), then waits for the owner's Exit. Interrupting it asks the owner to cancel. */
  await(id: string): Effect.Effect<unknown, unknown> {
    const match = id.length <= maxIdLength ? idPattern.exec(id) : null
    const { commandTimeout, keys, ownerLostAfter, ttl } = this.settings
    const stashedAt = match === null ? Number.NaN : Number.parseInt(match[1]!, 36)
    // Dated later than a clock a little ahead could give (or not a time at all): not an id this store gave out.
    if (!Number.isSafeInteger(stashedAt) || stashedAt > Date.now() + ownerLostAfter) {
      return Effect.fail(new ResultNotFound(id))
    }
    // How long after the stash the owner's first write may take: its connection and command, each within
    // commandTimeout, or an outage it rides out (ownerLostAfter).
    const firstWrite = ownerLostAfter + commandTimeout
    const self = this
    const token = globalThis.crypto.randomUUID()
    const record = keys.record(id)
    const claimKeys = [record, keys.claim(id)]
    const wait = new Wait()
    let lost = false
    const named = (error: StoreUnavailable | WrongType): StoreUnavailable | CorruptResult =>
      error._tag === "WrongType" ? corrupt(error.reply, id, "a key of the store holds another type of value") : error
    const command = <A>(effect: Effect.Effect<A, StoreUnavailable | WrongType>) =>
      Effect.mapError(tolerant(this.connection, this.settings, effect), named)
    const finish = (look: Scripts.Look): Effect.Effect<unknown, unknown> | undefined => {
      if (look[0] === 1) wait.ownerToken = look[2] ?? undefined
      if (look[0] !== 2) return undefined
      // Read once: the record goes now that we have the Exit (a retried read before this found it again).
      self.forget(record)
      const exit = this.settings.codec.decodeExit(look[1], id)
      if (exit instanceof CorruptResult) return Effect.fail(exit)
      const owner = look[2]
      // The Exit as it is: its Cause carries the reason the owner's reactor ended the work, if it did.
      if (exit._tag === "Success" || owner === null) return exit
      // A failure is its owner's to report at shutdown unless it hears that it was retrieved.
      return Effect.andThen(self.tellClaimed(id, owner), exit)
    }
    /**
     * A claimed wait: until a wake-up, then the Exit it carried, or a look at the record (and again).
     * Plain combinators, not a generator: a burst of wake-ups resumes each wait once, cheaply.
     */
    const waiting: Effect.Effect<unknown, unknown> = Effect.suspend(() => {
      let next = wait.next
      if (wait.ownerToken === undefined) {
        // No record yet: its first write may still be on the way, for at most firstWrite after the stash.
        const left = Math.min(stashedAt, Date.now()) + firstWrite - Date.now()
        next = left > 0 ? Effect.raceFirst(wait.next, Effect.sleep(left)) : Effect.void
      }
      return Effect.flatMap(next, () => {
        if (wait.delivered !== undefined) return finish(wait.delivered)!
        const ownerGone = wait.ownerGone
        wait.woken = false
        wait.ownerGone = false
        return Effect.flatMap(
          command(self.connection.eval<Scripts.Look>(Scripts.look, [record], [])),
          (look) => looked(look, ownerGone)
        )
      })
    })
    /** What a look at the record says: the Exit, the end of the wait, or wait on. */
    const looked = (look: Scripts.Look, ownerGone: boolean): Effect.Effect<unknown, unknown> => {
      const result = finish(look)
      if (result !== undefined) return result
      // The record we saw is gone (Redis lost its data), or never came within firstWrite: nothing will come.
      if (look[0] === 0 && (wait.ownerToken !== undefined || Date.now() - stashedAt > firstWrite)) {
        return Effect.fail(new ResultNotFound(id))
      }
      if (look[0] === 1 && ownerGone) {
        return Effect.fail(
          new OwnerLost({
            id,
            message: `The process that stashed ${id} (${look[1] ?? "unknown"}) stopped refreshing its heartbeat for ` +
              `${formatMillis(ownerLostAfter)} before the result was ready: it died or lost Redis. ` +
              "The work is lost; start it again."
          })
        )
      }
      return waiting
    }
    // The claim, then what to do: its outcome at once, or the wait.
    const claiming = Effect.gen(function*() {
      if (self.waits.has(id)) {
        lost = true
        return yield* Effect.fail(new ResultNotFound(id))
      }
      self.waits.set(id, wait)
      self.presence.keep()
      // Subscribed before claiming: the owner's wake-up cannot come before we listen. If the channel's
      // shard is down, the wait goes on without it (the presence looks again every ownerHeartbeat).
      yield* Effect.ignore(self.presence.subscribe)
      // On one node, the claim itself tells a pending owner who waits; on a cluster, the message below does.
      const told = self.connection.inOrder
      const claim = yield* command(self.connection.eval<Scripts.Look>(Scripts.claim, claimKeys, [
        token,
        self.presence.token,
        ttl,
        // A claim before the owner's first write keeps its waiter until that write may still come, and longer.
        firstWrite + ownerLostAfter,
        told ? keys.channel("") : "",
        `k ${id} ${self.presence.token}`
      ]))
      if (claim[0] === -1) {
        lost = true
        return yield* Effect.fail(new ResultNotFound(id))
      }
      const done = finish(claim)
      if (done !== undefined) return done
      // Claimed while pending, on a cluster: tell the owner who waits, so that its publish wakes us without a round trip.
      if (claim[0] === 1 && claim[2] !== null && !told) yield* self.tellClaimed(id, claim[2])
      return waiting
    })
    // Over: the wait is forgotten. Interrupted (a cancel, a timeout, a shutdown): the owner is asked to cancel.
    return Effect.flatten(claiming).pipe(Effect.onExit((exit) => {
      if (self.waits.get(id) === wait) self.waits.delete(id)
      if (lost || exit._tag === "Success" || !Cause.hasInterrupts(exit.cause)) return Effect.void
      return Effect.ignore(
        Effect.flatMap(
          self.connection.eval<string | null>(Scripts.cancel, claimKeys, [token, ttl]),
          (owner) => owner === null || owner === "" ? Effect.void : self.presence.notify(owner, `c ${id}`)
        )
      )
    }))
  }

  onMessage(kind: string, body: string): void {
    if (kind === "w") {
      // "w <id> ...": look again at these records.
      for (const id of body.split(" ")) this.waits.get(id)?.wake()
    } else if (kind === "d") {
      // "d [[id, exit], ...]": done, with the Exits. Anything else on the channel is not ours: ignored.
      let done: unknown
      try {
        done = JSON.parse(body)
      } catch {
        return
      }
      if (!Array.isArray(done)) return
      for (const pair of done) {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
          continue
        }
        // No owner to tell: its publish saw the claim.
        this.waits.get(pair[0])?.deliver([2, pair[1], null])
      }
    }
  }

  /** One `EXISTS` per distinct owner of the pending waits; the waits of a gone owner look again. */
  get round(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const byOwner = new Map<string, Array<Wait>>()
      for (const wait of this.waits.values()) {
        if (wait.ownerToken === undefined || wait.ownerToken === this.presence.token) continue
        const waits = byOwner.get(wait.ownerToken)
        if (waits === undefined) byOwner.set(wait.ownerToken, [wait])
        else waits.push(wait)
      }
      return Effect.forEach(byOwner, ([owner, waits]) => {
        const alive = this.settings.keys.alive(owner)
        return Effect.ignore(Effect.tap(
          this.connection.send<number>(alive, ["EXISTS", alive]),
          (exists) => exists === 0 ? Effect.sync(() => waits.forEach((wait) => wait.lostOwner())) : Effect.void
        ))
      }, { discard: true, concurrency: 16 })
    })
  }

  lookAgain(): void {
    for (const wait of this.waits.values()) wait.wake()
  }

  /** The owner learns who claimed its pending result (and that it was retrieved); a lost message costs a round trip, no more. */
  private tellClaimed(id: string, owner: string): Effect.Effect<void> {
    const message = `${id} ${this.presence.token}`
    if (owner !== this.presence.token) return Effect.ignore(this.presence.notify(owner, `k ${message}`))
    return Effect.sync(() => {
      for (const role of this.presence.roles) role.onMessage("k", message)
    })
  }

  /** Read once: the record goes, in the background once this wait has resolved, with the others read meanwhile. */
  private forget(record: string): void {
    this.read.push(record)
    if (this.read.length > 1) return
    setImmediate(() => {
      const records = this.read.splice(0)
      const deletes = this.connection.inOrder ? [records] : records.map((one) => [one])
      for (const keys of deletes) Effect.runFork(Effect.ignore(this.connection.send(keys[0]!, ["DEL", ...keys])))
    })
  }
}
