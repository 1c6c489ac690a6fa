/**
 * Core's `Reactor.setup` with Node's process lifecycle: reactors shut down
 * cleanly on SIGINT/SIGTERM and when the program has nothing left to do,
 * background fibers do not keep a finished program alive, and a reactor
 * object passed to another thread fails with a clear error.
 *
 * @since 0.1.0
 */
import { Reactor } from "@crochet/core"
import type * as Layer from "effect/Layer"
import { facadeOf, hold, shutdownRunning, track, withUnrefClock } from "./internal/nodeReactor.ts"
import { checkOptions } from "./internal/options.ts"

/**
 * Options of {@link setup}: core's reactor options plus the process hooks.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { NodeReactor } from "@crochet/platform-node"
 *
 * const options: NodeReactor.Options = { drain: "5 seconds", signals: false, keepAlive: "callers" }
 * const reactor = NodeReactor.setup(Layer.empty, options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Reactor.ReactorOptions {
  /**
   * Shut every reactor down on SIGINT/SIGTERM, then exit with 128 + the
   * signal's number (130, 143); a second signal exits at once. Default: true.
   * Set it to `false` when the program runs `NodeRuntime.runMain` (which has
   * its own handlers) or handles signals itself, and call
   * `Reactor.shutdownAll()` from there.
   */
  readonly signals?: boolean | undefined
  /**
   * Whether the reactor's timers (`Effect.sleep`, schedules, timeouts) keep
   * the process alive. Default: `"callers"`: only while an outside caller
   * awaits a result (`waitFor`, `result.wait()`), so a repeating background
   * job does not keep a finished program running. `"always"` keeps Effect's
   * usual behaviour.
   */
  readonly keepAlive?: "callers" | "always" | undefined
}

/**
 * Sets up a reactor like core's `Reactor.setup` (lazy layer build, one
 * reactor per layer object) and ties it to the process:
 * - SIGINT/SIGTERM: every reactor drains, interrupts and runs its
 *   finalizers, then the process exits with 130/143; a second signal exits at
 *   once (see {@link Options.signals}).
 * - When the program has nothing left to do, every reactor shuts down (its
 *   finalizers run) and the process ends; the reactor's own timers do not
 *   keep it alive, an outside caller awaiting a result does.
 * - Passing the reactor to another thread (`workerData`, `postMessage`)
 *   fails at once with a `DataCloneError` pointing to `MainThreadBridge`.
 * `process.exit()` ends the process without running async finalizers: prefer
 * letting the program end, or `await Reactor.shutdownAll()` first.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { NodeReactor } from "@crochet/platform-node"
 *
 * class Database extends Context.Service<Database, { readonly count: Effect.Effect<number> }>()("Database") {}
 * const DatabaseLive = Layer.effect(
 *   Database,
 *   Effect.acquireRelease(Effect.succeed({ count: Effect.succeed(3) }), () => Effect.log("database closed"))
 * )
 *
 * const reactor = NodeReactor.setup(DatabaseLive, { drain: "5 seconds" })
 * console.log(await reactor.waitFor(Effect.flatMap(Database, (db) => db.count))) // 3
 * // the program ends here: the reactor shuts down and its finalizer logs "database closed"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const setup = <R, E>(layer: Layer.Layer<R, E, never>, options?: Options): Reactor.Reactor<R> => {
  checkOptions(options, optionKeys, "NodeReactor.setup")
  const keepAlive = options?.keepAlive ?? "callers"
  const { keepAlive: _keepAlive, signals, ...reactorOptions } = options ?? {}
  const reactor = Reactor.setup(keepAlive === "callers" ? withUnrefClock(layer) : layer, reactorOptions)
  track(reactor, signals !== false)
  return facadeOf(reactor, keepAlive === "callers")
}

const optionKeys = [...Reactor.optionKeys, "signals", "keepAlive"] as const

/**
 * Shuts down every reactor made by {@link setup} (and core's `Reactor.setup`)
 * and removes the process hooks; for programs that handle signals
 * themselves (`signals: false`), e.g. from a `NodeRuntime.runMain` finalizer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { NodeReactor } from "@crochet/platform-node"
 *
 * const reactor = NodeReactor.setup(Layer.empty, { signals: false }) // this program handles signals itself
 * process.once("SIGTERM", async () => {
 *   await NodeReactor.shutdownAll() // every reactor drains, interrupts and runs its finalizers
 *   process.exit(143)
 * })
 * ```
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const shutdownAll = (): Promise<void> => hold(shutdownRunning())
