/**
 * Core's `Reactor.setup` with Node's process lifecycle: reactors shut down
 * cleanly on SIGINT/SIGTERM and when the program has nothing left to do,
 * background fibers do not keep a finished program alive, and a reactor
 * object passed to another thread fails with a clear error.
 *
 * @since 0.1.0
 */
import { type EventualResult, Reactor } from "@crochet/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

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
 */
export const setup = <R, E>(layer: Layer.Layer<R, E, never>, options?: Options): Reactor.Reactor<R> => {
  const keepAlive = options?.keepAlive ?? "callers"
  let wrapped: Layer.Layer<R, E, never> = layer
  if (keepAlive === "callers") {
    wrapped = unrefLayers.get(layer) as Layer.Layer<R, E, never> | undefined ?? layer.pipe(Layer.provideMerge(unrefClockLayer))
    unrefLayers.set(layer, wrapped)
  }
  const { keepAlive: _keepAlive, signals, ...reactorOptions } = options ?? {}
  const reactor = Reactor.setup(wrapped, reactorOptions)
  let facade = facades.get(reactor)
  if (facade === undefined) {
    facade = makeFacade(reactor, keepAlive === "callers")
    facades.set(reactor, facade)
  }
  track(reactor, signals !== false)
  return facade
}

const unrefLayers = new WeakMap<Layer.Layer<any, any, never>, Layer.Layer<any, any, never>>()
const facades = new WeakMap<Reactor.Reactor<any>, Reactor.Reactor<any>>()

// --- timers that do not keep the process alive ------------------------------

const MAX_TIMER_MILLIS = 2 ** 31 - 1

const unrefSleep = (millis: number): Effect.Effect<void> => {
  if (millis <= 0) return Effect.yieldNow
  if (!Number.isFinite(millis)) return Effect.never
  return Effect.callback<void>((resume) => {
    const handle = setTimeout(
      () => resume(millis > MAX_TIMER_MILLIS ? unrefSleep(millis - MAX_TIMER_MILLIS) : Effect.void),
      Math.min(millis, MAX_TIMER_MILLIS)
    )
    handle.unref()
    return Effect.sync(() => clearTimeout(handle))
  })
}

/** Effect's default Clock, except that its timers are unref'd. */
const unrefClock: Clock.Clock = {
  currentTimeMillisUnsafe: () => Date.now(),
  currentTimeMillis: Effect.sync(() => Date.now()),
  currentTimeNanosUnsafe: () => BigInt(Date.now()) * 1_000_000n,
  currentTimeNanos: Effect.sync(() => BigInt(Date.now()) * 1_000_000n),
  monotonicTimeNanosUnsafe: () => process.hrtime.bigint(),
  monotonicTimeNanos: Effect.sync(() => process.hrtime.bigint()),
  sleep: (duration: Duration.Duration) => unrefSleep(Duration.toMillis(duration))
} as Clock.Clock

const unrefClockLayer = Layer.succeed(Clock.Clock, unrefClock)

/**
 * One interval timer, ref'd while an outside caller awaits a result (the one
 * thing that keeps the process alive for the reactors) and unref'd otherwise.
 */
let awaiting = 0
let keepAliveTimer: ReturnType<typeof setInterval> | undefined

const hold = <A>(promise: Promise<A>): Promise<A> => {
  if (awaiting++ === 0) (keepAliveTimer ??= setInterval(() => {}, MAX_TIMER_MILLIS)).ref()
  promise.then(release, release)
  return promise
}

const release = () => {
  if (--awaiting === 0) keepAliveTimer?.unref()
}

const holdResult = <A, E>(result: EventualResult.EventualResult<A, E>): EventualResult.EventualResult<A, E> => {
  const held = Object.create(result) as EventualResult.EventualResult<A, E> & { wait: typeof result.wait }
  held.wait = (options) => hold(result.wait(options))
  return held
}

const wrapFunction = (fn: Function, around: (value: any) => any): Function => {
  const wrapper = function(this: unknown, ...args: Array<unknown>) {
    return around(fn.apply(this, args))
  }
  Object.defineProperty(wrapper, "name", { value: fn.name })
  Object.defineProperty(wrapper, "length", { value: fn.length })
  Object.defineProperty(wrapper, "wrapped", { value: (fn as { readonly wrapped?: unknown }).wrapped })
  return wrapper
}

// --- the facade: keep-alive and the thread guard -------------------------------

// Kept short: V8 cuts long descriptions out of the DataCloneError message.
const crossThreadGuard = Symbol(
  "A reactor cannot be passed to another thread; use MainThreadBridge (docs/threads.md, section 2)"
)

const makeFacade = <R>(reactor: Reactor.Reactor<R>, holdCallers: boolean): Reactor.Reactor<R> => {
  const awaitPromise = holdCallers ? hold : <A>(promise: Promise<A>) => promise
  const awaitResult = holdCallers ? holdResult : <A, E>(result: EventualResult.EventualResult<A, E>) => result
  const facade: Reactor.Reactor<R> & { readonly threadGuard: symbol } = {
    // Structured clone copies own enumerable properties and refuses symbols,
    // quoting their description: passing the reactor to another thread
    // (postMessage, workerData) fails at once with a DataCloneError saying this.
    threadGuard: crossThreadGuard,
    get status() {
      return reactor.status
    },
    waitFor: ((effectOrFn: any, options?: any) => {
      const result = reactor.waitFor(effectOrFn, options)
      return typeof result === "function" ? wrapFunction(result, awaitPromise) : awaitPromise(result)
    }) as Reactor.Reactor<R>["waitFor"],
    runInReactor: ((effectOrFn: any, options?: Reactor.RunInReactorOptions) => {
      const result = reactor.runInReactor(effectOrFn, options)
      return typeof result === "function" ? wrapFunction(result, awaitResult) : awaitResult(result)
    }) as Reactor.Reactor<R>["runInReactor"],
    waitForMethod: ((options?: any) => {
      const decorate = reactor.waitForMethod(options)
      return (method: any, context: any) => wrapFunction(decorate(method, context), awaitPromise)
    }) as Reactor.Reactor<R>["waitForMethod"],
    runInReactorMethod: (() => {
      const decorate = reactor.runInReactorMethod()
      return (method: any, context: any) => wrapFunction(decorate(method, context), awaitResult)
    }) as Reactor.Reactor<R>["runInReactorMethod"],
    stats: () => reactor.stats(),
    retrieve: (id) => awaitResult(reactor.retrieve(id)),
    shutdown: () =>
      hold(reactor.shutdown()).finally(() => {
        running.delete(reactor)
        uninstall()
      })
  }
  return facade
}

// --- process hooks ----------------------------------------------------------------

const running = new Set<Reactor.Reactor<any>>()
let signalsWanted = false
let handlersInstalled = false
let shuttingDown = false

const signalNumbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15 }

const onSignal = (signal: NodeJS.Signals) => {
  const code = 128 + (signalNumbers[signal] ?? 0)
  if (shuttingDown) process.exit(code)
  shuttingDown = true
  void hold(shutdownRunning()).finally(() => process.exit(code))
}

const onBeforeExit = () => {
  if (running.size === 0 || shuttingDown) return
  // The program has nothing left to do: shut the reactors down (their finalizers
  // keep it alive until they are done), after which it ends by itself.
  void hold(shutdownRunning())
}

const shutdownRunning = async (): Promise<void> => {
  const reactors = [...running]
  running.clear()
  await Promise.all(reactors.map((reactor) => reactor.shutdown()))
  await Reactor.shutdownAll()
  uninstall()
}

const track = (reactor: Reactor.Reactor<any>, signals: boolean) => {
  if (reactor.status !== "running") return
  running.add(reactor)
  signalsWanted ||= signals
  if (!handlersInstalled) {
    handlersInstalled = true
    process.on("beforeExit", onBeforeExit)
  }
  if (signalsWanted && process.listeners("SIGINT").indexOf(onSignal) < 0) {
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  }
}

const uninstall = () => {
  if (running.size > 0) return
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  process.off("beforeExit", onBeforeExit)
  handlersInstalled = false
  signalsWanted = false
  shuttingDown = false
}

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
 */
export const shutdownAll = (): Promise<void> => hold(shutdownRunning())
