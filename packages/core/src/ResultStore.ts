/**
 * Where stashed results live between `result.stash()` and
 * `reactor.retrieve(id)`. The in-memory store is the default; other stores
 * (a shared one for several processes) plug in through `Reactor` options or,
 * for `Reactor.make`, as this service in the context.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { ResultNotFound } from "./Errors.ts"
import type { EventualResult } from "./EventualResult.ts"

/**
 * A store of stashed results. Ids must be hard to guess (they end up in
 * cookies and URLs), and each id is retrieved at most once.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 *
 * const store = ResultStore.memory()
 * const id = store.stash(Reactor.setup(Layer.empty).runInReactor(Effect.succeed(1)))
 * await store.retrieve(id).wait() // => 1
 * ```
 *
 * @since 0.1.0
 */
export interface ResultStore {
  /** Keeps the result and returns its new id. */
  readonly stash: (result: EventualResult<unknown, unknown>) => string
  /** Removes and returns the result; throws `ResultNotFound` for an unknown or already retrieved id. */
  readonly retrieve: (id: string) => EventualResult<unknown, unknown>
  /** Removes and returns every result not retrieved yet (called at shutdown, to report lost failures). */
  readonly takeUnretrieved: () => ReadonlyArray<readonly [id: string, result: EventualResult<unknown, unknown>]>
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
 */
export const layerMemory: Layer.Layer<ResultStore> = Layer.sync(ResultStore, memory)
