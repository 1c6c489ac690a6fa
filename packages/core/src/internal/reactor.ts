import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { Aborted, InvalidArgument, ReactorStartFailed, ReactorStopped } from "../Errors.ts"
import type * as EventualResult from "../EventualResult.ts"
import type {
  Reactor,
  ReactorOptions,
  RunCallbackOptions,
  RunInReactorOptions,
  Stats,
  Status,
  WaitForOptions
} from "../Reactor.ts"
import * as ResultStore from "../ResultStore.ts"
import { Deadlines } from "./deadlines.ts"
import { provide } from "./effectModules.ts"
import * as EventualResultImpl from "./eventualResult.ts"
import {
  checkOptions,
  decodeDuration,
  decodeWaitOptions,
  decodeWaitTimeout,
  describe,
  notAnEffect,
  waitForKeys
} from "./options.ts"
import { Run, Stopping } from "./run.ts"
import { type Counters, makeCounters, outcomeOf } from "./stats.ts"
import { interruptFor, outsideError, stopCause } from "./stop.ts"
import { addCallerFrames, primaryFailure, withoutStack } from "./traceback.ts"

// The modules a failure needs, already loaded here: no `require` for a reactor's failures.
provide({ Cause, Context, Duration })

const defaultShutdownTimeout = Duration.seconds(10)

const runCallbackKeys = ["onExit", "timeout", "spanName", "parentSpan"] as const satisfies ReadonlyArray<
  keyof RunCallbackOptions<unknown, unknown>
>
const runInReactorKeys = ["timeout", "spanName"] as const satisfies ReadonlyArray<keyof RunInReactorOptions>

// Kept short: V8 cuts long descriptions out of the DataCloneError message.
const crossThreadGuard = Symbol(
  "A reactor cannot be passed to another thread; use MainThreadBridge (docs/threads.md, section 2)"
)

/** What a call's span is called, the timeout it records, and its parent when not the caller's active span. */
interface CallSpan {
  readonly name: string
  readonly timeout: Duration.Duration | undefined
  readonly parent?: Tracer.AnySpan | undefined
}

/** The `_tag` (or name) of a failed call's error, for its span. */
const errorTagOf = (cause: Cause.Cause<unknown>): { readonly "crochet.error_tag"?: string } => {
  const failure = primaryFailure(cause)
  if (failure === undefined) return {}
  const error = failure._tag === "Fail" ? failure.error : failure.defect
  const tag = typeof error === "object" && error !== null
    ? (error as { _tag?: unknown })._tag ?? (error as { name?: unknown }).name
    : undefined
  return typeof tag === "string" ? { "crochet.error_tag": tag } : {}
}

/** Settings decoded once, when the reactor is made, so bad options fail at that call. */
export interface Settings {
  readonly drain: Duration.Duration | undefined
  readonly shutdownTimeout: Duration.Duration
  readonly logLevel: ReactorOptions["logLevel"]
  readonly logger: ReactorOptions["logger"]
  readonly resultStore: ResultStore.ResultStore | undefined
  readonly name: string
}

/** The keys of `ReactorOptions` (a record, so that a new option must be added here too). */
export const reactorOptionKeys: ReadonlyArray<keyof ReactorOptions> = Object.keys(
  { drain: 0, shutdownTimeout: 0, logLevel: 0, logger: 0, resultStore: 0, name: 0 } satisfies Record<
    keyof ReactorOptions,
    0
  >
) as Array<keyof ReactorOptions>

export const decodeSettings = (options: ReactorOptions | undefined, call: string): Settings => {
  checkOptions(options, reactorOptionKeys, call)
  return {
    drain: decodeDuration(options?.drain, `${call}: options.drain`),
    shutdownTimeout: decodeDuration(options?.shutdownTimeout, `${call}: options.shutdownTimeout`) ??
      (options?.shutdownTimeout === undefined ? defaultShutdownTimeout : Duration.infinity),
    logLevel: options?.logLevel,
    logger: options?.logger === undefined ? undefined : guardedLogger(options.logger, options?.name ?? "reactor"),
    resultStore: options?.resultStore,
    name: options?.name ?? "reactor"
  }
}

/**
 * The user's logger, made unable to fail the work that logs: a line it throws
 * on is dropped, the first such error is reported once on stderr, and the
 * next lines still go to it.
 */
const guardedLogger = (logger: Logger.Logger<unknown, any>, name: string): Logger.Logger<unknown, unknown> => {
  let reported = false
  // The user's logger's own prototype (Effect's logger brand) with a guarded `log`: not `Logger.make`,
  // because importing effect/Logger costs every reactor ~65 ms of start-up (it loads FileSystem).
  const guarded = Object.create(Object.getPrototypeOf(logger)) as { log: Logger.Logger<unknown, unknown>["log"] }
  guarded.log = (options) => {
    try {
      return logger.log(options)
    } catch (error) {
      if (!reported) {
        reported = true
        // oxlint-disable-next-line no-console -- the logger itself is broken: stderr is what is left
        console.error(
          `Reactor "${name}": its logger threw, so that log line was dropped (later ones still go to it, and ` +
            "further errors of the logger are not reported). Fix the logger given in the logger option:",
          error
        )
      }
      return undefined
    }
  }
  return guarded as Logger.Logger<unknown, unknown>
}

/** Adds the log settings to a context, so that every fiber of the reactor logs the same way. */
const withLogSettings = <R>(context: Context.Context<R>, settings: Settings): Context.Context<R> => {
  let result = context
  if (settings.logLevel !== undefined) result = Context.add(result, References.MinimumLogLevel, settings.logLevel)
  if (settings.logger !== undefined) result = Context.add(result, References.CurrentLoggers, new Set([settings.logger]))
  return result
}

/**
 * The reactor: admits calls while running, runs each as a fiber in its
 * context, and on shutdown drains, interrupts and releases every caller
 * within a deadline, then lets the services' finalizers run.
 */
export class ReactorImpl<R> implements Reactor<R> {
  /**
   * First own property, and a symbol: structured clone refuses it and quotes
   * its description, so passing a reactor to another thread fails saying why.
   */
  readonly threadGuard = crossThreadGuard
  status: Status = "running"
  /** The services, once built (at once for `make`, on first use for `setup`). */
  private context: Context.Context<R> | undefined
  /** `Effect.runForkWith(context)`, made once the services are built. */
  private forkInContext: (<A, E>(effect: Effect.Effect<A, E, R>) => Fiber.Fiber<A, E>) | undefined
  private readonly base: Context.Context<never>
  private readonly running = new Set<Run<unknown, unknown>>()
  private idleListeners: Set<() => void> | undefined
  private stopped: Deferred.Deferred<void> | undefined
  private building: Fiber.Fiber<Context.Context<R>, unknown> | undefined
  private layerScope: Scope.Closeable | undefined
  private readonly store: ResultStore.ResultStore
  private currentDeadlines: Deadlines | undefined
  /** Set when the shutdown starts interrupting what it could not drain. */
  stopping: Stopping | undefined
  private readonly settings: Settings
  private readonly layer: Layer.Layer<R, unknown> | undefined
  private readonly onStopped: (() => void) | undefined
  private readonly counters: Counters
  private readonly registerMetrics: (context: Context.Context<never>) => void
  /** Whether calls run in spans: only when a tracer other than Effect's built-in one is configured. */
  private traced = false

  constructor(
    settings: Settings,
    from:
      | { readonly _tag: "Context"; readonly context: Context.Context<R> }
      | {
        readonly _tag: "Layer"
        readonly layer: Layer.Layer<R, unknown>
        /** Called once the shutdown is complete (setup forgets the reactor then). */
        readonly onStopped: () => void
      }
  ) {
    this.settings = settings
    const { counters, register } = makeCounters(settings.name, () => this.running.size)
    this.counters = counters
    this.registerMetrics = register
    if (from._tag === "Context") {
      this.base = withLogSettings(from.context, settings) as Context.Context<never>
      this.useServices(this.base as Context.Context<R>)
      this.layer = undefined
      this.onStopped = undefined
    } else {
      this.base = withLogSettings(Context.empty(), settings)
      this.layer = from.layer
      this.onStopped = from.onStopped
    }
    this.store = settings.resultStore ??
      (this.context && Context.getOrUndefined(this.context as Context.Context<unknown>, ResultStore.ResultStore)) ??
      ResultStore.memory()
  }

  // --- calls -------------------------------------------------------------

  waitFor(effectOrFn: unknown, options?: WaitForOptions): any {
    if (typeof effectOrFn === "function" && !Effect.isEffect(effectOrFn)) {
      const { signal, timeout } = decodeWaitOptions(options, waitForKeys, `waitFor(${effectOrFn.name || "fn"})`)
      const name = options?.spanName ?? effectOrFn.name
      return wrap(effectOrFn, (effect, wrapper) => this.waitForEffect(effect, timeout, signal, name, wrapper), true)
    }
    // The hot path (a route calling waitFor per request): nothing allocated for the options.
    let timeout
    try {
      timeout = decodeWaitTimeout(options, waitForKeys, "waitFor")
    } catch (error) {
      return Promise.reject(error)
    }
    return this.waitForEffect(effectOrFn, timeout, options?.signal, options?.spanName, ReactorImpl.prototype.waitFor)
  }

  private waitForEffect(
    effect: unknown,
    timeout: Duration.Duration | undefined,
    signal: AbortSignal | undefined,
    name: string | undefined,
    entry: Function
  ): Promise<unknown> {
    if (this.status !== "running") return Promise.reject(ReactorStopped.refused())
    if (!Effect.isEffect(effect)) {
      return Promise.reject(notAnEffect(effect, name === undefined ? "waitFor" : `waitFor(${name || "fn"})`))
    }
    if (signal?.aborted) return Promise.reject(abortedBeforeStart(signal))
    const fiber = this.fork(effect as Effect.Effect<unknown, unknown, R>, name || "Reactor.waitFor", timeout)
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      if (exit._tag === "Success") {
        this.counters.calls.success++
        return Promise.resolve(exit.value)
      }
      this.counters.calls[outcomeOf(exit, false)]++
      return Promise.reject(addCallerFrames(outsideError(exit.cause), entry))
    }
    const run = this.trackRun(fiber)
    if (timeout !== undefined) run.interruptAfter(timeout, this.deadlines)
    if (signal !== undefined) run.interruptOnAbort(signal)
    return run.promise()
  }

  runInReactor(effectOrFn: unknown, options?: RunInReactorOptions): any {
    const isFn = typeof effectOrFn === "function" && !Effect.isEffect(effectOrFn)
    const call = isFn ? `runInReactor(${effectOrFn.name || "fn"})` : "runInReactor"
    if (options !== undefined) checkOptions(options, runInReactorKeys, call)
    const timeout = decodeDuration(options?.timeout, `${call}: options.timeout`)
    const name = options?.spanName ?? (isFn ? effectOrFn.name : undefined)
    if (isFn) {
      return wrap(effectOrFn, (effect) => this.runInReactorEffect(effect, call, name, timeout), false)
    }
    return this.runInReactorEffect(effectOrFn, call, name, timeout)
  }

  private runInReactorEffect(
    effect: unknown,
    call: string,
    name: string | undefined,
    timeout?: Duration.Duration | undefined
  ): EventualResult.EventualResult<unknown, unknown> {
    return EventualResultImpl.make(this.start(effect, call, name || "Reactor.runInReactor", timeout), this)
  }

  runCallback(effect: unknown, options: RunCallbackOptions<unknown, unknown>): () => void {
    if (typeof options !== "object" || options === null || typeof options.onExit !== "function") {
      throw new InvalidArgument(
        `runCallback: options must be an object with an onExit function; got ${describe(options)}.`
      )
    }
    checkOptions(options, runCallbackKeys, "runCallback")
    const timeout = decodeDuration(options.timeout, "runCallback: options.timeout")
    const run = this.start(
      effect,
      "runCallback",
      options.spanName || "Reactor.runCallback",
      timeout,
      options.parentSpan
    )
    run.onExit(options.onExit)
    return () => {
      if (run.exit === undefined) interruptFor(run.fiber, { _tag: "Cancel" })
    }
  }

  /** Starts a run that outlives the call (runInReactor, runCallback), with its timeout armed. */
  private start(
    effect: unknown,
    call: string,
    name: string,
    timeout: Duration.Duration | undefined,
    parent?: Tracer.AnySpan
  ): Run<unknown, unknown> {
    if (this.status !== "running") throw ReactorStopped.refused()
    if (!Effect.isEffect(effect)) throw notAnEffect(effect, call)
    const run = this.trackRun(this.fork(effect as Effect.Effect<unknown, unknown, R>, name, timeout, parent))
    if (timeout !== undefined && run.exit === undefined) run.interruptAfter(timeout, this.deadlines)
    return run
  }

  stats(): Stats {
    const { calls, pendingAtShutdown, shutdownReleaseSeconds, waitSecondsMax, waitSecondsTotal, waits } = this.counters
    return {
      status: this.status,
      inFlight: this.running.size,
      calls: { ...calls },
      waits: { count: waits, totalSeconds: waitSecondsTotal, maxSeconds: waitSecondsMax },
      lastShutdown: { pending: pendingAtShutdown, releaseSeconds: shutdownReleaseSeconds }
    }
  }

  retrieve<A = unknown, E = unknown>(id: EventualResult.StashId<A, E> | string): EventualResult.EventualResult<A, E> {
    if (this.status !== "running") throw ReactorStopped.refused()
    if (typeof id !== "string") throw new InvalidArgument(`retrieve: the id must be a string; got ${describe(id)}.`)
    const result = this.store.retrieve(id, this)
    EventualResultImpl.retrieved(result)
    // The type is the id's claim (see StashId): the store keeps results untyped.
    return result as EventualResult.EventualResult<A, E>
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown()
  }

  waitForMethod(options?: WaitForOptions): any {
    const decoded = decodeWaitOptions(options, waitForKeys, "waitForMethod")
    return (method: Function, context: ClassMethodDecoratorContext) => {
      const name = options?.spanName ?? String(context.name)
      return wrap(
        method,
        (effect, wrapper) => this.waitForEffect(effect, decoded.timeout, decoded.signal, name, wrapper),
        true
      )
    }
  }

  runInReactorMethod(): any {
    return (method: Function, context: ClassMethodDecoratorContext) =>
      wrap(
        method,
        (effect) => this.runInReactorEffect(effect, `runInReactor(${String(context.name)})`, String(context.name)),
        false
      )
  }

  /**
   * Follows a started fiber. Its synchronous part ran inside `fork`; if that
   * part shut the reactor down (the work called `shutdown()`), the shutdown
   * could not see it, so it is interrupted here.
   */
  private trackRun<A, E>(fiber: Fiber.Fiber<A, E>): Run<A, E> {
    const run = new Run(fiber, this)
    if (run.exit !== undefined) this.counters.calls[outcomeOf(run.exit, false)]++
    else if (this.status !== "running") interruptFor(fiber, { _tag: "Stop", drain: this.settings.drain })
    return run
  }

  /**
   * Starts a fiber for a call: in the services' context, or behind the layer's
   * build while that runs. Its span (when traced) is `name`, recording `timeout`,
   * a child of `parent` if given.
   */
  private fork<A, E>(
    effect: Effect.Effect<A, E, R>,
    name: string,
    timeout: Duration.Duration | undefined,
    parent?: Tracer.AnySpan
  ): Fiber.Fiber<A, E> {
    if (this.forkInContext !== undefined) {
      return this.forkInContext(this.traced ? this.inSpan(effect, { name, timeout, parent }) : effect)
    }
    return Effect.runForkWith(this.base)(
      Effect.flatMap(
        this.awaitServices(),
        (context) =>
          Effect.provideContext(this.traced ? this.inSpan(effect, { name, timeout, parent }) : effect, context)
      )
    )
  }

  /**
   * Runs a call in its own span, a child of `span.parent` if given, else of
   * the outside caller's active OpenTelemetry span when there is one (the
   * fiber starts in the caller's async context), with its timeout, outcome
   * and duration as attributes.
   */
  private inSpan<A, E>(effect: Effect.Effect<A, E, R>, span: CallSpan): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      const start = performance.now()
      return Effect.onExit(effect, (exit) =>
        Effect.annotateCurrentSpan({
          "crochet.outcome": outcomeOf(exit, this.stopping !== undefined),
          "crochet.duration_ms": performance.now() - start,
          ...(exit._tag === "Failure" ? errorTagOf(exit.cause) : {})
        }))
    }).pipe(
      Effect.withSpan(span.name, {
        attributes: span.timeout === undefined
          ? { "crochet.reactor": this.settings.name }
          : { "crochet.reactor": this.settings.name, "crochet.timeout_ms": Duration.toMillis(span.timeout) },
        parent: span.parent
      })
    )
  }

  /** Starts serving calls with these services: tracing if a tracer is configured, metrics in their registry. */
  private useServices(context: Context.Context<R>): void {
    this.context = context
    this.forkInContext = Effect.runForkWith(context)
    const services = context as Context.Context<never>
    this.traced = Context.get(services, Tracer.Tracer) !== Tracer.nativeTracer &&
      Context.get(services, References.TracerEnabled)
    this.registerMetrics(services)
  }

  // --- the layer of `setup` ------------------------------------------------

  /** The services once built. A failed build is a defect of the call (not one of its typed errors). */
  private awaitServices(): Effect.Effect<Context.Context<R>> {
    const build = this.building ?? this.startBuild()
    return Effect.callback((resume) => {
      const stopObserving = build.addObserver((exit) =>
        resume(exit._tag === "Success" ? Effect.succeed(exit.value) : Effect.die(new ReactorStartFailed(exit.cause)))
      )
      return Effect.sync(stopObserving)
    })
  }

  private startBuild(): Fiber.Fiber<Context.Context<R>, unknown> {
    const scope = Scope.makeUnsafe()
    const build = Effect.runForkWith(this.base)(Layer.buildWithScope(this.layer!, scope))
    this.building = build
    build.addObserver((exit) => {
      if (exit._tag === "Success") {
        this.layerScope = scope
        this.useServices(Context.merge(this.base, exit.value))
      } else {
        // Release what was built before the failure; the next call builds again.
        this.building = undefined
        Effect.runFork(Scope.close(scope, exit))
      }
    })
    return build
  }

  // --- shutdown ------------------------------------------------------------

  shutdown(): Promise<void> {
    return Effect.runPromiseWith(this.clockContext)(this.shutdownEffect)
  }

  /** Drains, interrupts, releases every caller, then closes the layer: each step bounded. */
  readonly shutdownEffect: Effect.Effect<void> = Effect.suspend(() => {
    if (this.stopped !== undefined) return Deferred.await(this.stopped)
    const stopped = this.stopped = Deferred.makeUnsafe<void>()
    this.status = "draining"
    return this.stopRuns().pipe(
      Effect.andThen(this.reportUnretrieved()),
      Effect.andThen(this.closeLayer()),
      Effect.ensuring(Effect.suspend(() => {
        this.status = "stopped"
        this.onStopped?.()
        return Deferred.done(stopped, Exit.void)
      }))
    )
  })

  private stopRuns(): Effect.Effect<void> {
    const { drain, shutdownTimeout } = this.settings
    const self = this
    return Effect.gen(function*() {
      if (self.running.size === 0) return
      if (drain !== undefined) yield* Effect.raceFirst(self.idle, Effect.sleep(drain))
      // Whatever settled, its callers' own callbacks run before the services' finalizers do.
      if (self.running.size === 0) return yield* nextMacrotask
      self.stopping = new Stopping({ _tag: "Stop", drain })
      const releaseStart = performance.now()
      self.counters.pendingAtShutdown = self.running.size
      // oxlint-disable-next-line unicorn/no-useless-spread -- a snapshot: an interrupted run leaves the set
      for (const run of [...self.running]) run.fiber.interruptUnsafe()
      // After the runs, so that callers waiting for the build see the shutdown, not a failed build.
      if (self.building !== undefined && self.context === undefined) self.building.interruptUnsafe()
      if (self.running.size > 0) yield* Effect.raceFirst(self.idle, Effect.sleep(shutdownTimeout))
      if (self.running.size > 0) self.releaseStuck(shutdownTimeout)
      self.counters.shutdownReleaseSeconds = (performance.now() - releaseStart) / 1000
      yield* nextMacrotask
    })
  }

  /** Gives up on fibers whose finalizers outlived the deadline: their callers get ReactorStopped now. */
  private releaseStuck(shutdownTimeout: Duration.Duration): void {
    const stuck = [...this.running]
    const released = stopCause({ _tag: "Stop", stuck: shutdownTimeout })
    for (const run of stuck) run.settle(Exit.failCause(released))
    this.logError(
      `Reactor shutdown: ${stuck.length} fiber(s) did not finish their finalizers within shutdownTimeout ` +
        `(${Duration.format(shutdownTimeout)}). Their callers were released with ReactorStopped; the fibers go on ` +
        "in the background. Look for a finalizer (Effect.ensuring, acquireRelease) that never ends."
    )
  }

  /** Completes when no run is in flight. */
  private readonly idle: Effect.Effect<void> = Effect.callback((resume) => {
    if (this.running.size === 0) return resume(Effect.void)
    const listener = () => resume(Effect.void)
    ;(this.idleListeners ??= new Set()).add(listener)
    return Effect.sync(() => this.idleListeners?.delete(listener))
  })

  private reportUnretrieved(): Effect.Effect<void> {
    return Effect.sync(() => {
      for (const [id, result] of this.store.takeUnretrieved()) {
        const exit = result.poll()
        if (exit !== undefined) EventualResultImpl.logIfFailed(this, exit, `stashed as ${id} and never retrieved`)
      }
    })
  }

  private closeLayer(): Effect.Effect<void> {
    const scope = this.layerScope
    if (scope === undefined) return Effect.void
    this.layerScope = undefined
    const timeout = this.settings.shutdownTimeout
    const self = this
    return Effect.gen(function*() {
      const closing = Effect.runFork(Scope.close(scope, Exit.void))
      const done = yield* Effect.raceFirst(
        Effect.callback<boolean>((resume) => {
          closing.addObserver((exit) => {
            if (exit._tag === "Failure") {
              self.logError("Reactor shutdown: a finalizer of the layer failed; the others still ran.", exit.cause)
            }
            resume(Effect.succeed(true))
          })
        }),
        Effect.as(Effect.sleep(timeout), false)
      )
      if (!done) {
        self.logError(
          `Reactor shutdown: the layer's finalizers did not finish within shutdownTimeout (${
            Duration.format(timeout)
          }); ` +
            "shutdown() returns anyway and they go on in the background. Look for a release step that never ends."
        )
      }
    })
  }

  // --- for its runs and results ------------------------------------------------

  track(run: Run<any, any>): void {
    this.running.add(run)
  }

  untrack(run: Run<any, any>, exit: Exit.Exit<unknown, unknown>): void {
    this.running.delete(run)
    if (exit._tag === "Success") this.counters.calls.success++
    else this.counters.calls[outcomeOf(exit, this.stopping !== undefined)]++
    this.counters.recordWait((performance.now() - run.startedAt) / 1000)
    if (this.idleListeners !== undefined && this.running.size === 0) {
      for (const listener of this.idleListeners) listener()
      this.idleListeners.clear()
    }
  }

  /** The context timers and logs run in: the services' once built, so a TestClock in them drives timeouts. */
  private get clockContext(): Context.Context<never> {
    return (this.context ?? this.base) as Context.Context<never>
  }

  get deadlines(): Deadlines {
    const context = this.clockContext
    if (this.currentDeadlines?.context !== context) this.currentDeadlines = new Deadlines(context)
    return this.currentDeadlines
  }

  stash(result: EventualResult.EventualResult<unknown, unknown>): string {
    if (this.status !== "running") throw ReactorStopped.refused()
    return this.store.stash(result, this)
  }

  logUnhandled(cause: Cause.Cause<unknown>, note: string): void {
    this.logError(`Unhandled error in EventualResult (${note})`, cause)
  }

  /** Logs through the reactor's own logger settings, whichever fiber is running the shutdown. */
  private logError(message: string, cause?: Cause.Cause<unknown>): void {
    Effect.runForkWith(this.clockContext)(
      cause === undefined ? Effect.logError(message) : Effect.logError(message, cause)
    )
  }
}

/** Lets every pending Promise callback run (callers released by a shutdown see it before the finalizers run). */
const nextMacrotask = Effect.callback<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(timer))
})

/**
 * Wraps a function returning an Effect (Crochet's `@wait_for`/`@run_in_reactor`):
 * same `name` and `length`, the original under `wrapped`, `this` passed on.
 */
const wrap = (fn: Function, call: (effect: unknown, wrapper: Function) => unknown, rejects: boolean) => {
  const wrapper = function(this: unknown, ...args: Array<unknown>) {
    let effect: unknown
    try {
      effect = fn.apply(this, args)
    } catch (error) {
      // As an Effect would: waitFor rejects with it, runInReactor returns a handle failed with it.
      if (rejects) return Promise.reject(error)
      effect = Effect.die(error)
    }
    return call(effect, wrapper)
  }
  Object.defineProperty(wrapper, "name", { value: fn.name })
  Object.defineProperty(wrapper, "length", { value: fn.length })
  Object.defineProperty(wrapper, "wrapped", { value: fn })
  return wrapper
}

const abortedBeforeStart = (signal: AbortSignal): Aborted =>
  withoutStack(() =>
    new Aborted({
      reason: signal.reason,
      message: "waitFor was given an AbortSignal that had already aborted, so the work was not started."
    })
  )
