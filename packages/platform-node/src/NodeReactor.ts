/**
 * Core's `Reactor.setup` with Node's process lifecycle: reactors shut down
 * cleanly on SIGINT/SIGTERM and when the program has nothing left to do,
 * background fibers do not keep a finished program alive, and a reactor
 * object passed to another thread fails with a clear error.
 *
 * @since 0.1.0
 */
import { InvalidArgument, Reactor } from "@crochet/core"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import { facadeOf, hold, shutdownRunning, track, withUnrefClock } from "./internal/nodeReactor.ts"
import { checkOptions, toMillis } from "./internal/options.ts"

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
   * On SIGINT/SIGTERM, run the `beforeShutdown` steps, shut every reactor and
   * every reactor thread down, then exit with 128 + the signal's number (130,
   * 143); a second signal exits at once. Default: true. Set it to `false`
   * when the program runs `NodeRuntime.runMain` (which has its own handlers)
   * or handles signals itself, and call `NodeReactor.shutdownAll()` from there.
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
  /**
   * With `signals`: the longest the main thread may stay blocked in blocking
   * calls (`ReactorThread`, `BlockingClient`) between two turns of its event
   * loop. A blocked thread runs no signal handler: a SIGINT/SIGTERM that comes
   * during a block is handled when the block ends, and this limit is how long
   * it can wait. Past it, the call throws `BlockedTooLong` (a call's work is
   * cancelled, as on its timeout; a `start(...)` handle's goes on) and so does
   * every blocking call until the event loop runs. Default: 10 seconds. `Infinity` turns it off. When several reactors
   * set it, the smallest wins.
   */
  readonly blockingLimit?: Duration.Input | undefined
  /**
   * With `signals`: the app's own step, run first on SIGINT/SIGTERM and
   * awaited before any reactor drains, while the reactors still serve: fail
   * the health check, wait for the load balancer to notice, stop accepting.
   * Bounded by {@link beforeShutdownTimeout}; a step that fails or overruns
   * is reported as a warning and the shutdown goes on. The steps of several
   * reactors run at the same time.
   */
  readonly beforeShutdown?: ((signal: "SIGINT" | "SIGTERM") => void | PromiseLike<void>) | undefined
  /** How long `beforeShutdown` may take. Default: 10 seconds; `Infinity`: no bound. */
  readonly beforeShutdownTimeout?: Duration.Input | undefined
}

/**
 * Sets up a reactor like core's `Reactor.setup` (lazy layer build, one
 * reactor per layer object) and ties it to the process:
 * - SIGINT/SIGTERM: the app's `beforeShutdown` steps (awaited, bounded),
 *   then every reactor drains, interrupts and runs its finalizers (the
 *   `MainThreadBridge` workers it releases get up to 1 s for their own
 *   handling), then every reactor thread shuts down, then the process exits
 *   with 130/143; a second signal exits at once (see {@link Options.signals}).
 *   A signal that comes while the main thread is blocked in a call is handled
 *   when the call returns, at most `blockingLimit` later (see
 *   {@link Options.blockingLimit}).
 * - When the program has nothing left to do, every reactor shuts down (its
 *   finalizers run) and the process ends; the reactor's own timers do not
 *   keep it alive, an outside caller awaiting a result does.
 * - Passing the reactor to another thread (`workerData`, `postMessage`)
 *   fails at once with a `DataCloneError` pointing to `MainThreadBridge`.
 * `process.exit()` ends the process without running async finalizers (reactor
 * threads still shut down): prefer letting the program end, or
 * `await NodeReactor.shutdownAll()` first.
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
  const {
    beforeShutdown,
    beforeShutdownTimeout,
    blockingLimit,
    keepAlive: _keepAlive,
    signals,
    ...reactorOptions
  } = options ?? {}
  if (beforeShutdown !== undefined && typeof beforeShutdown !== "function") {
    throw new InvalidArgument(
      "NodeReactor.setup: options.beforeShutdown must be a function (signal) => void | Promise<void>."
    )
  }
  const settings = {
    signals: signals !== false,
    blockingLimit: blockingLimit === undefined
      ? 10_000
      : toMillis(blockingLimit, "NodeReactor.setup: options.blockingLimit"),
    beforeShutdown,
    beforeShutdownTimeout: beforeShutdownTimeout === undefined
      ? 10_000
      : toMillis(beforeShutdownTimeout, "NodeReactor.setup: options.beforeShutdownTimeout") ?? Infinity
  }
  const reactor = Reactor.setup(keepAlive === "callers" ? withUnrefClock(layer) : layer, reactorOptions)
  track(reactor, settings)
  return facadeOf(reactor, keepAlive === "callers")
}

const optionKeys = [
  ...Reactor.optionKeys,
  "signals",
  "keepAlive",
  "blockingLimit",
  "beforeShutdown",
  "beforeShutdownTimeout"
] as const

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
