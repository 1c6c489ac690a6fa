import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** How long an idle reactor keeps its timer: the most it can delay the end of a finished process. */
const idleRelease = 50

/** A pending deadline; `cancel()` forgets it in O(1). */
export interface Deadline {
  cancel(): void
}

/** What a deadline calls when it passes (an object, not a closure: one less allocation per call). */
export interface Expirable {
  expire(timeout: Duration.Duration): void
}

interface Entry extends Deadline {
  readonly at: number
  readonly target: Expirable
  readonly list: Entries
  previous: Entry | undefined
  next: Entry | undefined
}

/** The deadlines of one timeout length, oldest first: later calls expire later. */
interface Entries {
  readonly timeout: Duration.Duration
  first: Entry | undefined
  last: Entry | undefined
}

/**
 * Every timeout of a reactor, served by one sleeping fiber on the reactor's
 * Clock (so a TestClock drives them) instead of a fiber and a timer per call.
 * Calls with the same timeout length expire in the order they started, so
 * each length keeps a FIFO list, and a call that finishes unlinks itself.
 * When nothing is pending the sleeper is let go, so an idle reactor holds no
 * timer that would keep the process alive.
 */
export class Deadlines {
  private readonly lists = new Map<number, Entries>()
  readonly context: Context.Context<never>
  private readonly clock: Clock.Clock
  private pending = 0
  private sleeper: Fiber.Fiber<void> | undefined
  private wakeAt = Infinity
  private idleCheck = false

  constructor(context: Context.Context<never>) {
    this.context = context
    this.clock = Context.get(context, Clock.Clock)
  }

  /** Calls `target.expire(timeout)` once `timeout` has passed on the Clock, unless cancelled first. */
  add(timeout: Duration.Duration, target: Expirable): Deadline {
    const millis = Duration.toMillis(timeout)
    let list = this.lists.get(millis)
    if (list === undefined) {
      list = { timeout, first: undefined, last: undefined }
      this.lists.set(millis, list)
    }
    const entry = new EntryImpl(this.clock.currentTimeMillisUnsafe() + millis, target, list, this)
    entry.previous = list.last
    if (list.last === undefined) list.first = entry
    else list.last.next = entry
    list.last = entry
    this.pending++
    if (entry.at < this.wakeAt) this.arm(entry.at)
    return entry
  }

  /** Called by an entry when it is cancelled or expires. */
  unlink(entry: Entry): void {
    const { list } = entry
    if (entry.previous === undefined) list.first = entry.next
    else entry.previous.next = entry.next
    if (entry.next === undefined) list.last = entry.previous
    else entry.next.previous = entry.previous
    entry.previous = entry.next = undefined
    if (--this.pending === 0) this.releaseWhenIdle()
  }

  private arm(at: number): void {
    this.sleeper?.interruptUnsafe()
    this.wakeAt = at
    const sleeper = Effect.runForkWith(this.context)(
      Effect.sleep(Math.max(0, at - this.clock.currentTimeMillisUnsafe()))
    )
    this.sleeper = sleeper
    sleeper.addObserver((exit) => {
      if (exit._tag === "Success" && this.sleeper === sleeper) this.expire()
    })
  }

  private expire(): void {
    this.sleeper = undefined
    this.wakeAt = Infinity
    const now = this.clock.currentTimeMillisUnsafe()
    let next = Infinity
    for (const list of this.lists.values()) {
      while (list.first !== undefined && list.first.at <= now) {
        const entry = list.first
        entry.cancel()
        entry.target.expire(list.timeout)
      }
      if (list.first !== undefined && list.first.at < next) next = list.first.at
    }
    if (next < Infinity && this.sleeper === undefined) this.arm(next)
  }

  /**
   * Lets the sleeper go once nothing has been pending for a moment (not at
   * once: back-to-back calls would otherwise arm and release a timer each).
   */
  private releaseWhenIdle(): void {
    if (this.idleCheck || this.sleeper === undefined) return
    this.idleCheck = true
    setTimeout(() => {
      this.idleCheck = false
      if (this.pending === 0 && this.sleeper !== undefined) {
        this.sleeper.interruptUnsafe()
        this.sleeper = undefined
        this.wakeAt = Infinity
        this.lists.clear()
      }
    }, idleRelease)
  }
}

class EntryImpl implements Entry {
  readonly at: number
  readonly target: Expirable
  readonly list: Entries
  previous: Entry | undefined = undefined
  next: Entry | undefined = undefined
  private readonly owner: Deadlines
  private done = false
  constructor(at: number, target: Expirable, list: Entries, owner: Deadlines) {
    this.at = at
    this.target = target
    this.list = list
    this.owner = owner
  }
  cancel(): void {
    if (this.done) return
    this.done = true
    this.owner.unlink(this)
  }
}
