/**
 * NodeReactor's machinery: timers that do not keep the process alive, the
 * facade that holds the process while outside callers wait, and the process
 * hooks (signals, `beforeExit`).
 */
import { EventualResult, Reactor } from "@crochet/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LiveThreads from "./liveThreads.ts"
import { formatMillis } from "./options.ts"
import { setBlockingLimit } from "./park.ts"
import * as Released from "./released.ts"

const unrefLayers = new WeakMap<Layer.Layer<any, any, never>, Layer.Layer<any, any, never>>()
const facades = new WeakMap<Reactor.Reactor<any>, Reactor.Reactor<any>>()

/** The layer, with timers that do not keep the process alive (one wrapped layer per layer, so `setup` shares reactors). */
export const withUnrefClock = <R, E>(layer: Layer.Layer<R, E, never>): Layer.Layer<R, E, never> => {
  let wrapped = unrefLayers.get(layer) as Layer.Layer<R, E, never> | undefined
  if (wrapped === undefined) {
    wrapped = layer.pipe(Layer.provideMerge(unrefClockLayer))
    unrefLayers.set(layer, wrapped)
  }
  return wrapped
}

/** The one facade of a reactor made by NodeReactor.setup. */
export const facadeOf = <R>(reactor: Reactor.Reactor<R>, holdCallers: boolean): Reactor.Reactor<R> => {
  let facade = facades.get(reactor)
  if (facade === undefined) {
    facade = makeFacade(reactor, holdCallers, () => {
      running.delete(reactor)
      uninstall()
    })
    facades.set(reactor, facade)
  }
  return facade
}

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

/**
 * Effect's default Clock (read from the public `Clock.Clock` reference's
 * default), except that its timers are unref'd.
 */
const unrefClock: Clock.Clock = Object.assign(Object.create(Context.get(Context.empty(), Clock.Clock)), {
  sleep: (duration: Duration.Duration) => unrefSleep(Duration.toMillis(duration))
})

const unrefClockLayer = Layer.succeed(Clock.Clock, unrefClock)

/**
 * One interval timer, ref'd while an outside caller awaits a result (the one
 * thing that keeps the process alive for the reactors) and unref'd otherwise.
 */
let awaiting = 0
let keepAliveTimer: ReturnType<typeof setInterval> | undefined

export const hold = <A>(promise: Promise<A>): Promise<A> => {
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
  const wrapped = (fn as { readonly wrapped?: unknown }).wrapped
  if (wrapped !== undefined) Object.defineProperty(wrapper, "wrapped", { value: wrapped })
  return wrapper
}

// --- the facade: keep-alive and the thread guard -------------------------------

// Kept short: V8 cuts long descriptions out of the DataCloneError message.
const crossThreadGuard = Symbol(
  "A reactor cannot be passed to another thread; use MainThreadBridge (docs/threads.md, section 2)"
)

/**
 * How the facade treats each member of `Reactor`. The type makes this list
 * complete: a member added to `Reactor` does not compile until it is listed,
 * so the facade cannot silently drop one (or its options).
 */
const members = {
  status: "read",
  waitFor: "forward",
  runInReactor: "forward",
  runCallback: "forward",
  waitForMethod: "forward",
  runInReactorMethod: "forward",
  stats: "forward",
  retrieve: "forward",
  shutdown: "shutdown",
  [Symbol.asyncDispose]: "shutdown"
} as const satisfies { readonly [K in keyof Reactor.Reactor<any>]-?: "read" | "forward" | "shutdown" }

/**
 * A reactor that forwards every member, with all its arguments, to `reactor`,
 * and (with `holdCallers`) keeps the process alive while a caller awaits what
 * a member returned: a Promise, an EventualResult's `wait()`, or the same
 * from a function it returned (a wrapped function, a decorator).
 */
export const makeFacade = <R>(
  reactor: Reactor.Reactor<R>,
  holdCallers: boolean,
  onShutdown: () => void
): Reactor.Reactor<R> => {
  const adapt = (value: unknown): unknown =>
    !holdCallers
      ? value
      : value instanceof Promise
      ? hold(value)
      : EventualResult.isEventualResult(value)
      ? holdResult(value)
      : typeof value === "function"
      ? wrapFunction(value, adapt)
      : value
  const facade: Record<PropertyKey, unknown> = {
    // Structured clone copies own enumerable properties and refuses symbols,
    // quoting their description: passing the reactor to another thread
    // (postMessage, workerData) fails at once with a DataCloneError saying this.
    threadGuard: crossThreadGuard
  }
  const target = reactor as unknown as Record<PropertyKey, (...args: Array<unknown>) => unknown>
  // Reflect.ownKeys: Symbol.asyncDispose is a member too.
  for (const name of Reflect.ownKeys(members) as Array<keyof typeof members>) {
    const kind = members[name]
    if (kind === "read") Object.defineProperty(facade, name, { get: () => target[name], enumerable: true })
    else if (kind === "forward") facade[name] = (...args: Array<unknown>) => adapt(target[name]!(...args))
    else facade[name] = () => hold(reactor.shutdown()).finally(onShutdown)
  }
  return facade as unknown as Reactor.Reactor<R>
}

// --- process hooks ----------------------------------------------------------------

/** What a reactor asked of the process hooks (the first `setup` of a reactor decides). */
export interface ProcessSettings {
  readonly signals: boolean
  /** Milliseconds; undefined: no limit. */
  readonly blockingLimit: number | undefined
  readonly beforeShutdown: ((signal: "SIGINT" | "SIGTERM") => unknown) | undefined
  readonly beforeShutdownTimeout: number
}

const running = new Map<Reactor.Reactor<any>, ProcessSettings>()
let beforeExitInstalled = false
let signalsInstalled = false
/** Set by the first signal: the process is on its way out, and a second signal exits at once. */
let shuttingDown = false

const signalNumbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15 }

const onSignal = (signal: NodeJS.Signals) => {
  const code = 128 + (signalNumbers[signal] ?? 0)
  if (shuttingDown) {
    LiveThreads.hurry()
    process.exit(code)
  }
  shuttingDown = true
  void hold(shutDownProcess(signal as "SIGINT" | "SIGTERM")).finally(() => process.exit(code))
}

/**
 * On a signal: the app's `beforeShutdown` steps, then every reactor (drain, interrupt,
 * finalizers; released MainThreadBridge workers' own handling), then every reactor
 * thread, then the process exits (`onSignal`).
 */
const shutDownProcess = async (signal: "SIGINT" | "SIGTERM"): Promise<void> => {
  const steps = [...running.values()].filter((settings) => settings.beforeShutdown !== undefined)
  await Promise.all(steps.map((settings) => runStep(settings, signal)))
  await shutdownRunning()
  await LiveThreads.stopAll()
}

/** Runs one `beforeShutdown` step, awaited up to its `beforeShutdownTimeout`; a failure or an overrun is a warning. */
const runStep = async (settings: ProcessSettings, signal: "SIGINT" | "SIGTERM"): Promise<void> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const step = (async () => settings.beforeShutdown!(signal))().then(
    () => {},
    (error) =>
      process.emitWarning(
        `beforeShutdown failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}; ` +
          "the reactors shut down now.",
        "NodeReactorWarning"
      )
  )
  const overrun = new Promise<void>((resolve) => {
    if (settings.beforeShutdownTimeout === Infinity) return
    timer = setTimeout(() => {
      process.emitWarning(
        `beforeShutdown did not finish within ${formatMillis(settings.beforeShutdownTimeout)} ` +
          "(NodeReactor's beforeShutdownTimeout); the reactors shut down now.",
        "NodeReactorWarning"
      )
      resolve()
    }, Math.min(settings.beforeShutdownTimeout, MAX_TIMER_MILLIS))
  })
  await Promise.race([step, overrun])
  clearTimeout(timer)
}

const onBeforeExit = () => {
  if (running.size === 0 || shuttingDown) return
  // The program has nothing left to do: shut the reactors down (their finalizers
  // keep it alive until they are done), after which it ends by itself.
  void hold(shutdownRunning())
}

/** Shuts every reactor down, then waits for the MainThreadBridge workers they released (see `released.ts`). */
export const shutdownRunning = async (): Promise<void> => {
  const reactors = [...running.keys()]
  running.clear()
  await Promise.all(reactors.map((reactor) => reactor.shutdown()))
  await Reactor.shutdownAll()
  await Released.awaitHandling()
  uninstall()
}

export const track = (reactor: Reactor.Reactor<any>, settings: ProcessSettings) => {
  if (reactor.status !== "running") return
  if (!running.has(reactor)) running.set(reactor, settings)
  if (!beforeExitInstalled) {
    beforeExitInstalled = true
    process.on("beforeExit", onBeforeExit)
  }
  if (settings.signals && !signalsInstalled) {
    signalsInstalled = true
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  }
  updateBlockingLimit()
}

/** The smallest `blockingLimit` of the reactors that handle signals, while NodeReactor's signal handlers are installed. */
const updateBlockingLimit = () => {
  let limit: number | undefined
  if (signalsInstalled) {
    for (const settings of running.values()) {
      if (settings.signals && settings.blockingLimit !== undefined) {
        limit = Math.min(limit ?? Infinity, settings.blockingLimit)
      }
    }
  }
  setBlockingLimit(limit)
}

const uninstall = () => {
  // After a signal, the hooks stay until the process exits: a second signal must still find them.
  if (running.size > 0 || shuttingDown) {
    updateBlockingLimit()
    return
  }
  process.off("SIGINT", onSignal)
  process.off("SIGTERM", onSignal)
  process.off("beforeExit", onBeforeExit)
  signalsInstalled = false
  beforeExitInstalled = false
  setBlockingLimit(undefined)
}
