/**
 * Where stashed results live between `result.stash()` and
 * `reactor.retrieve(id)`. The in-memory store is the default; other stores
 * (a shared one for several processes) plug in through `Reactor` options or,
 * for `Reactor.make`, as this service in the context.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ResultNotFound } from "./Errors.ts"
import type { EventualResult } from "./EventualResult.ts"

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
  readonly stash: (result: EventualResult<unknown, unknown>, reactor: Runner) => string
  /** Removes and returns the result; throws (or the handle's wait rejects with) `ResultNotFound` for an unknown id. */
  readonly retrieve: (id: string, reactor: Runner) => EventualResult<unknown, unknown>
  /** Removes and returns every result of this process not retrieved yet (at shutdown, to report lost failures). */
  readonly takeUnretrieved: () => ReadonlyArray<readonly [id: string, result: EventualResult<unknown, unknown>]>
}

/**
 * What a store may do with the reactor that calls it: run work in it.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const runner: ResultStore.Runner = Reactor.setup(Layer.empty)
 * runner.runInReactor(Effect.log("publishing a result"))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Runner {
  runInReactor<A, E>(effect: Effect.Effect<A, E>): EventualResult<A, E>
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
 * A store in this process's memory: the default. Ids are random UUIDs.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty, { resultStore: ResultStore.memory() })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (): ResultStore => {
  const results = new Map<string, EventualResult<unknown, unknown>>()
  return {
    stash(result) {
      const id = globalThis.crypto.randomUUID()
      results.set(id, result)
      return id
    },
    retrieve(id) {
      const result = typeof id === "string" ? results.get(id) : undefined
      if (result === undefined) throw new ResultNotFound(String(id))
      results.delete(id)
      return result
    },
    takeUnretrieved() {
      const entries = [...results]
      results.clear()
      return entries
    }
  }
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
export const layerMemory: Layer.Layer<ResultStore> = Layer.sync(ResultStore, memory)
