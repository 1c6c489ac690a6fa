/**
 * A store's presence in Redis: its token, its one subscription (the channel
 * its waits are woken on and its owned work is cancelled on), and the one
 * fiber that keeps things up while the store has pending waits or owned
 * work: it subscribes again after a lost subscription, and runs each role's
 * round (heartbeat, liveness checks) every `ownerHeartbeat`.
 *
 * A lost subscription is tried again soon (25 ms, doubling up to
 * `ownerHeartbeat`), and once it is back every role looks again at what it
 * waits for: whatever was sent meanwhile is in the records. While it stays
 * lost (the channel's shard is down), the roles look again every
 * `ownerHeartbeat` instead: waits on healthy shards still end.
 */
import * as Effect from "effect/Effect"
import type { StoreUnavailable } from "../Errors.ts"
import type { Connection } from "./connection.ts"
import type { StoreSettings } from "./settings.ts"
import { heartbeatDue } from "./settings.ts"

/** The owner's or the retriever's side, as the presence sees it. */
export interface Role {
  /** Whether it has anything to keep (the presence is kept up while a role has). */
  readonly busy: boolean
  /** A message on the store's channel: its kind ("d", "w", "c", "k") and the rest. */
  onMessage(kind: string, body: string): void
  /** Its part of every round: heartbeats, liveness checks. */
  readonly round: Effect.Effect<void>
  /** Messages may have been lost: look at the records again. */
  lookAgain(): void
}

const firstRetry = 25

export class Presence {
  /** This store's random token: its channel and heartbeat key are named after it. */
  readonly token = globalThis.crypto.randomUUID()
  subscribed = false
  roles: ReadonlyArray<Role> = []
  private readonly connection: Connection
  private readonly settings: StoreSettings
  private readonly channel: string
  /** Whether the subscription was lost since it was last made. */
  private wasLost = false
  private keeping = false
  private lastRound = 0
  private retry = firstRetry
  private nudge: (() => void) | undefined
  /** The keeper's tasks still running. */
  private readonly running = new Set<string | number>()

  constructor(connection: Connection, settings: StoreSettings) {
    this.connection = connection
    this.settings = settings
    this.channel = settings.keys.channel(this.token)
  }

  /** Subscribed to this store's channel (once; again after it was lost). */
  get subscribe(): Effect.Effect<void, StoreUnavailable> {
    if (this.subscribed) return Effect.void
    return Effect.tap(
      this.connection.subscribe(this.channel, (message) => this.onMessage(message), () => this.onLost()),
      () => Effect.sync(() => this.onSubscribed())
    )
  }

  /** `SPUBLISH` to the channel of the store whose token this is. */
  notify(token: string, message: string): Effect.Effect<void, unknown> {
    const channel = this.settings.keys.channel(token)
    return Effect.asVoid(this.connection.send(channel, ["SPUBLISH", channel, message]))
  }

  /**
   * `notify` for each `[token, message]`, written together: once each was answered or failed, whether
   * every one reached a subscriber of its channel (`SPUBLISH`'s count).
   */
  notifyEach(messages: ReadonlyArray<readonly [token: string, message: string]>): Effect.Effect<boolean> {
    return Effect.map(
      this.connection.sendEach(messages.map(([token, message]) => {
        const channel = this.settings.keys.channel(token)
        return [channel, ["SPUBLISH", channel, message]] as const
      })),
      (replies) => replies.every((reply) => typeof reply === "number" && reply > 0)
    )
  }

  /**
   * Runs the keeper while a role is busy (it keeps the process alive
   * meanwhile, as the work would). It never fails, and it ends only when
   * nothing is left to keep.
   */
  keep(): void {
    if (this.keeping || this.connection.closed) return
    this.keeping = true
    const self = this
    const loop = Effect.gen(function*() {
      while (self.roles.some((role) => role.busy) && !self.connection.closed) {
        self.turn()
        yield* self.pause
      }
    })
    Effect.runFork(Effect.onExit(loop, (exit) =>
      Effect.sync(() => {
        this.keeping = false
        // A role that became busy after the loop's last look (the fiber may yield in between) gets a keeper
        // too; a loop that died is not restarted from here (that could recurse).
        if (exit._tag === "Success" && this.roles.some((role) => role.busy)) this.keep()
      })))
  }

  /**
   * One turn of the keeper: subscribe again if needed and, every `ownerHeartbeat`, each role's round.
   * Each runs on its own, the turn does not wait for it (it skips a task whose previous run is still
   * going): a slow subscription or liveness check must not hold up the heartbeat.
   */
  private turn(): void {
    if (!this.subscribed) this.runOnce("subscribe", Effect.ignore(this.subscribe))
    const now = Date.now()
    if (!heartbeatDue(this.settings, this.lastRound, now)) return
    this.lastRound = now
    if (!this.subscribed) { for (const role of this.roles) role.lookAgain() }
    this.roles.forEach((role, index) => this.runOnce(index, role.round))
  }

  /** Runs `task` in the background unless its previous run (under the same key) is still going. */
  private runOnce(key: string | number, task: Effect.Effect<void>): void {
    if (this.running.has(key)) return
    this.running.add(key)
    Effect.runFork(Effect.ensuring(Effect.exit(task), Effect.sync(() => this.running.delete(key))))
  }

  /** Until the next turn: a heartbeat, or sooner while the subscription is lost, or when nudged. */
  private get pause(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const heartbeat = this.settings.ownerHeartbeat
      let delay = heartbeat
      if (!this.subscribed) {
        delay = Math.min(this.retry, heartbeat)
        this.retry = Math.min(this.retry * 2, heartbeat)
      }
      const timer = setTimeout(() => {
        this.nudge = undefined
        resume(Effect.void)
      }, delay)
      this.nudge = () => {
        this.nudge = undefined
        clearTimeout(timer)
        resume(Effect.void)
      }
      return Effect.sync(() => clearTimeout(timer))
    })
  }

  private onMessage(message: string): void {
    const kind = message.slice(0, 1)
    const body = message.slice(2)
    for (const role of this.roles) role.onMessage(kind, body)
  }

  private onLost(): void {
    this.subscribed = false
    this.wasLost = true
    this.retry = firstRetry
    if (this.keeping) this.nudge?.()
    else this.keep()
  }

  /** (Again) subscribed: whatever was sent meanwhile may be lost, so every role looks again. */
  private onSubscribed(): void {
    this.subscribed = true
    this.retry = firstRetry
    if (!this.wasLost) return
    this.wasLost = false
    for (const role of this.roles) role.lookAgain()
  }
}
