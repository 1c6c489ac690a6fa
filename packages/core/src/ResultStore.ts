/**
 * Where stashed results live between `result.stash()` and
 * `reactor.retrieve(id)`. The in-memory store is the default; other stores
 * (a shared one for several processes) plug in through `Reactor` options or,
 * for `Reactor.make`, as this service in the context.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { InvalidArgument, ResultNotFound } from "./Errors.ts"
import type * as EventualResult from "./EventualResult.ts"
import * as internal from "./internal/eventualResult.ts"
import { decodeDuration } from "./internal/options.ts"
import type * as Reactor from "./Reactor.ts"

/**
 * A store of stashed results. Ids must be hard to guess (they end up in
 * cookies and URLs), and each id is retrieved at most once.
 *
 * A store that keeps results elsewhere (another process, Redis) gets the
 * reactor that stashes or retrieves, to run its own work there: publishing a
 * result when it is done, or a handle whose work is waiting for a result kept
 * elsewhere (`reactor.runInReactor(awaitRemote(id))`). Such a handle behaves
 * like any other: `wait`, `poll`, `cancel` (its interruption can ask the owner
 * to cancel), `stash`; an id it cannot find makes its wait reject with
 * `ResultNotFound` instead of `retrieve` throwing.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const store = ResultStore.memory()
 * const id = store.stash(reactor.runInReactor(Effect.succeed(1)), reactor)
 * await store.retrieve(id, reactor).wait() // => 1
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultStore {
  /** Keeps the result and returns its new id. */
  readonly stash: (result: EventualResult.EventualResult<unknown, unknown>, reactor: Reactor.Reactor<never>) => string
  /** Removes and returns the result; throws (or the handle's wait rejects with) `ResultNotFound` for an unknown id. */
  readonly retrieve: (id: string, reactor: Reactor.Reactor<never>) => EventualResult.EventualResult<unknown, unknown>
  /** Removes and returns every result of this process not retrieved yet (at shutdown, to report lost failures). */
  readonly takeUnretrieved: () => ReadonlyArray<
    readonly [id: string, result: EventualResult.EventualResult<unknown, unknown>]
  >
}

/**
 * The `ResultStore` service, for Effect applications that provide their own
 * store to `Reactor.make`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const program = Reactor.make<ResultStore.ResultStore>().pipe(Effect.provide(ResultStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export const ResultStore: Context.Service<ResultStore, ResultStore> = Context.Service<ResultStore>(
  "@crochet/core/ResultStore"
)

/**
 * Options of {@link memory}.
 *
 * @example
 * ```ts
 * import type { ResultStore } from "@crochet/core"
 *
 * const options: ResultStore.MemoryOptions = { ttl: "15 minutes", maxEntries: 10_000 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /**
   * How long a stashed result can be retrieved. Then it is dropped: if still
   * running it is cancelled (nobody can retrieve it any more), and a failure
   * is logged like any failure nobody saw. Measured on the reactor's `Clock`.
   * Default: 1 hour (as the Redis store's).
   */
  readonly ttl?: Duration.Input | undefined
  /** The most results kept; stashing one more drops the oldest as if it expired. Default: no bound but `ttl`. */
  readonly maxEntries?: number | undefined
}

/**
 * A store in this process's memory: the default. Ids are random UUIDs; an id
 * of any other shape fails at once. A stashed result is kept until it is
 * retrieved or its `ttl` passes (then a running one is cancelled and a
 * failure logged), so a server whose clients never come back does not grow
 * without bound. Expiry is one sleeping fiber on the reactor's `Clock` (a
 * `TestClock` drives it), which does not keep the process alive.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty, { resultStore: ResultStore.memory({ ttl: "15 minutes", maxEntries: 10_000 }) })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (options?: MemoryOptions): ResultStore => {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new InvalidArgument(`ResultStore.memory: options must be an object; got ${String(options)}.`)
  }
  const ttl = decodeDuration(options?.ttl, "ResultStore.memory: options.ttl") ?? Duration.hours(1)
  if (!Duration.isGreaterThan(ttl, Duration.zero)) {
    throw new InvalidArgument("ResultStore.memory: options.ttl must be longer than zero.")
  }
  const maxEntries = options?.maxEntries ?? Infinity
  if (maxEntries !== Infinity && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
    throw new InvalidArgument(
      `ResultStore.memory: options.maxEntries must be a whole number of at least 1; got ${String(maxEntries)}.`
    )
  }
  return new MemoryStore(Duration.toMillis(ttl), maxEntries)
}

interface Entry {
  readonly result: EventualResult.EventualResult<unknown, unknown>
  /** On the Clock of the reactor that stashed it. */
  readonly expiresAt: number
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const systemClock: Clock.Clock = Effect.runSync(Clock.clockWith(Effect.succeed))

class MemoryStore implements ResultStore {
  /** Oldest first: all share one ttl, so the first to expire is the first entry. */
  private readonly entries = new Map<string, Entry>()
  private readonly ttl: number
  private readonly maxEntries: number
  private context: Context.Context<never> = Context.empty()
  private sweeping = false

  constructor(ttl: number, maxEntries: number) {
    this.ttl = ttl
    this.maxEntries = maxEntries
  }

  stash(result: EventualResult.EventualResult<unknown, unknown>): string {
    this.context = internal.contextOf(result) ?? this.context
    if (this.entries.size >= this.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value!
      this.drop(
        oldest,
        entry,
        `stashed as ${oldest} and dropped unretrieved: the store holds at most maxEntries (${this.maxEntries})`
      )
    }
    const id = globalThis.crypto.randomUUID()
    this.entries.set(id, { result, expiresAt: this.clock.currentTimeMillisUnsafe() + this.ttl })
    this.sweep()
    return id
  }

  retrieve(id: string): EventualResult.EventualResult<unknown, unknown> {
    const entry = typeof id === "string" && uuidPattern.test(id) ? this.entries.get(id) : undefined
    if (entry === undefined) throw new ResultNotFound(String(id))
    this.entries.delete(id)
    return entry.result
  }

  takeUnretrieved(): ReadonlyArray<readonly [id: string, result: EventualResult.EventualResult<unknown, unknown>]> {
    const entries = [...this.entries].map(([id, entry]) => [id, entry.result] as const)
    this.entries.clear()
    return entries
  }

  private get clock(): Clock.Clock {
    return Context.get(this.context, Clock.Clock)
  }

  /** Drops what expired, then sleeps until the next entry expires (one sleeper per store, none when empty). */
  private sweep(): void {
    if (this.sweeping) return
    const now = this.clock.currentTimeMillisUnsafe()
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) {
        this.sweeping = true
        Effect.runForkWith(this.context)(sleepUnref(this.clock, entry.expiresAt - now)).addObserver(() => {
          this.sweeping = false
          this.sweep()
        })
        return
      }
      this.drop(
        id,
        entry,
        `stashed as ${id} and expired unretrieved after its ttl (${Duration.format(Duration.millis(this.ttl))})`
      )
    }
  }

  private drop(id: string, entry: Entry, note: string): void {
    this.entries.delete(id)
    entry.result.cancel()
    internal.logIfFailedUnretrieved(entry.result, note)
  }
}

/** A sleep on `clock`; on the system clock its timer does not keep the process alive. */
const sleepUnref = (clock: Clock.Clock, millis: number): Effect.Effect<void> => {
  if (clock !== systemClock) return clock.sleep(Duration.millis(millis))
  return Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), Math.min(millis, 2 ** 31 - 1))
    timer.unref()
    return Effect.sync(() => clearTimeout(timer))
  })
}

/**
 * Provides a fresh in-memory `ResultStore`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * Reactor.make<ResultStore.ResultStore>().pipe(Effect.scoped, Effect.provide(ResultStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ResultStore> = Layer.sync(ResultStore, () => memory())

/**
 * For a store that sends results elsewhere (another process, Redis): calls
 * `listener` once the result's work ended (at once if it has), with its
 * Exit as `poll()` gives it, and without a fiber per result, so that a burst
 * of completions costs the store a function call each. The listener runs
 * where the work settles: keep it short, and never throw from it. A store
 * whose results must be sent before the reactor stops keeps a run of its
 * own going meanwhile (its shutdown waits for runs).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const result = reactor.runInReactor(Effect.succeed(1))
 * ResultStore.whenDone(result, (exit) => console.log(exit._tag)) // logs "Success"
 * ```
 *
 * @since 0.1.0
 * @category stores
 */
export const whenDone: <A, E>(
  result: EventualResult.EventualResult<A, E>,
  listener: (exit: Exit.Exit<A, E>) => void
) => void = internal.whenDone

/**
 * The context (Clock, logger) of the reactor that made a handle, for a store
 * that keeps time on that reactor's Clock or logs through its logger outside
 * its fibers (even while it shuts down); `undefined` for a handle made
 * elsewhere.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty, { logLevel: "Warn" })
 * const result = reactor.runInReactor(Effect.succeed(1))
 * Effect.runForkWith(ResultStore.contextOf(result)!)(Effect.logWarning("published")) // with the reactor's logger
 * ```
 *
 * @since 0.1.0
 * @category stores
 */
export const contextOf: (
  result: EventualResult.EventualResult<unknown, unknown>
) => Context.Context<never> | undefined = internal.contextOf
