/**
 * A reactor runs Effects on behalf of code that is not written in Effect
 * (async functions, HTTP handlers, callbacks) for as long as its services
 * live, and releases every outside caller when they stop.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { EventualResult, StashId, WaitOptions } from "./EventualResult.ts"
import { decodeSettings, ReactorImpl, reactorOptionKeys } from "./internal/reactor.ts"
import type * as ResultStore from "./ResultStore.ts"

/**
 * `"running"` admits calls; `"draining"` refuses new calls while in-flight
 * work finishes or is interrupted; `"stopped"` is final.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const status: Reactor.Status = Reactor.setup(Layer.empty).status // => "running"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Status = "running" | "draining" | "stopped"

/**
 * How a reactor logs and shuts down. Every duration is an Effect
 * `Duration.Input` (`"5 seconds"`, `5000`, `Duration.seconds(5)`); a bad one
 * throws `InvalidArgument` at `make`/`setup`.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 *
 * const options: Reactor.ReactorOptions = { drain: "5 seconds", shutdownTimeout: "30 seconds", logLevel: "Error" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ReactorOptions {
  /** On shutdown, let in-flight work finish for up to this long before interrupting it. Default: 0. */
  readonly drain?: Duration.Input | undefined
  /**
   * The most shutdown waits for interrupted work's finalizers, and then again
   * for the layer's finalizers. Past it, callers are released with
   * `ReactorStopped` anyway and the stuck finalizer is logged. Default: 10 seconds.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** The minimum level of log lines written by effects the reactor runs (and by the reactor). */
  readonly logLevel?: LogLevel.LogLevel | undefined
  /** Replaces the loggers of effects the reactor runs (and of the reactor). */
  readonly logger?: Logger.Logger<unknown, any> | undefined
  /** Where `stash()` keeps results. Default: a `ResultStore` service in the context (for `make`), else memory. */
  readonly resultStore?: ResultStore.ResultStore | undefined
  /** Names this reactor in its metrics (`reactor` attribute) and spans (`crochet.reactor`). Default: `"reactor"`. */
  readonly name?: string | undefined
}

/**
 * Options of `waitFor`: those of a wait, plus the name of the call's span
 * (default: the wrapped function's name, else `"Reactor.waitFor"`).
 *
 * @example
 * ```ts
 * import type { Reactor } from "@crochet/core"
 *
 * const options: Reactor.WaitForOptions = { timeout: "2 seconds", spanName: "GET /users" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitForOptions extends WaitOptions {
  readonly spanName?: string | undefined
}

/**
 * Options of `runInReactor(effect, options)`: the call's span name, and a
 * timeout that interrupts the work (the handle then fails with
 * `TimeoutError`) as `waitFor`'s does.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * reactor.runInReactor(Effect.succeed(1), { spanName: "lookup", timeout: "1 second" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunInReactorOptions {
  readonly spanName?: string | undefined
  readonly timeout?: Duration.Input | undefined
}

/**
 * Options of `runCallback`, for bridges that run work on behalf of a caller
 * elsewhere (another thread, another process): those of `runInReactor`, the
 * parent of the call's span when the caller's trace context came with the
 * call, and what to call with the Exit.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Tracer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const parentSpan = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" })
 * reactor.runCallback(Effect.succeed(1), { spanName: "lookup", parentSpan, timeout: "1 second", onExit: console.log })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunCallbackOptions<A, E> extends RunInReactorOptions {
  /** The parent of the call's span. Default: the active OpenTelemetry span of this thread, if any. */
  readonly parentSpan?: Tracer.AnySpan | undefined
  /** Called once with the fiber's Exit: at once if the effect finished synchronously. */
  readonly onExit: (exit: Exit.Exit<A, E>) => void
}

/**
 * A snapshot of what a reactor is doing, for plain code (the same numbers
 * are exported as Effect metrics, see docs/observability.md).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * await reactor.waitFor(Effect.succeed(1))
 * reactor.stats().calls.success // => 1
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly status: Status
  /** Calls running now. */
  readonly inFlight: number
  /** Calls that ended, by outcome. */
  readonly calls: {
    readonly success: number
    readonly failure: number
    readonly timeout: number
    readonly aborted: number
    readonly cancelled: number
    readonly stopped: number
  }
  /** Calls that did not finish at once: how many, and how long their callers waited. */
  readonly waits: { readonly count: number; readonly totalSeconds: number; readonly maxSeconds: number }
  /** The last shutdown: calls it had to interrupt, and the seconds it took to release them. */
  readonly lastShutdown: { readonly pending: number; readonly releaseSeconds: number }
}

/**
 * A function wrapped by `reactor.waitFor(fn)`: same name and length, returns a
 * Promise, and keeps the original under `wrapped` for unit tests.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const double = Reactor.setup(Layer.empty).waitFor((n: number) => Effect.succeed(n * 2))
 * await double(21) // => 42
 * await Effect.runPromise(double.wrapped(21)) // => 42, without the reactor
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitForFunction<Args extends ReadonlyArray<any>, A, E, R> {
  (...args: Args): Promise<A>
  readonly wrapped: (...args: Args) => Effect.Effect<A, E, R>
}

/**
 * A function wrapped by `reactor.runInReactor(fn)`: same name and length,
 * returns an `EventualResult`, keeps the original under `wrapped`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const start = Reactor.setup(Layer.empty).runInReactor((url: string) => Effect.succeed(`page of ${url}`))
 * await start("https://example.org").wait() // => "page of https://example.org"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunInReactorFunction<Args extends ReadonlyArray<any>, A, E, R> {
  (...args: Args): EventualResult<A, E>
  readonly wrapped: (...args: Args) => Effect.Effect<A, E, R>
}

/**
 * A bridge into Effect for outside code, with access to the services `R`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty)
 * await reactor.waitFor(Effect.succeed(42), { timeout: "5 seconds" }) // => 42
 * await reactor.shutdown()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Reactor<R> {
  /** `"running"`, `"draining"` or `"stopped"`. */
  readonly status: Status
  /**
   * Runs the effect and resolves with its value. On timeout (or when
   * `signal` aborts) the work is interrupted and the Promise rejects with
   * `TimeoutError` (or `Aborted`), whose `cause` holds the fiber's Cause.
   * The signal is listened to from the next turn of the event loop (a call
   * over by then costs no listener); an abort before that takes effect then.
   * A failure rejects with the effect's own error, its stack showing the
   * Effect span trace and the caller's frames.
   *
   * Given a function returning an Effect instead, wraps it (Crochet's
   * `@wait_for`): each call runs its Effect like `waitFor(effect, options)`.
   * Bad options throw here.
   */
  waitFor<X extends Runnable>(effectOrFn: Provided<X, R>, options?: WaitForOptions): WaitForResult<X>
  /**
   * Starts the effect and returns its handle at once (Crochet's
   * `run_in_reactor`); given a function returning an Effect, wraps it: each
   * call starts its Effect and returns the handle.
   */
  runInReactor<X extends Runnable>(effectOrFn: Provided<X, R>, options?: RunInReactorOptions): RunInReactorResult<X>
  /**
   * For bridges that serve callers elsewhere (another thread, another
   * process): runs the effect like `runInReactor` and calls `options.onExit`
   * with the fiber's Exit. When the reactor ended the work (timeout, cancel,
   * shutdown) its Cause says why (`stopReasonOf` in `@crochet/core/Bridge`);
   * `outsideError` (same module) turns a failed Exit into the error the caller gets. Returns a function
   * that cancels the work.
   */
  runCallback<A, E>(effect: Effect.Effect<A, E, R>, options: RunCallbackOptions<A, E>): () => void
  /**
   * A standard (TC39) method decorator for JavaScript classes: the method
   * returns an Effect, callers get a Promise as from `waitFor`.
   * TypeScript does not let a decorator change a method's type (TS1270), so in
   * TypeScript prefer a field: `lookup = reactor.waitFor((name: string) => ...)`.
   */
  waitForMethod(options?: WaitForOptions): <This, Args extends ReadonlyArray<any>, A, E>(
    method: (this: This, ...args: Args) => Effect.Effect<A, E, R>,
    context: ClassMethodDecoratorContext<This>
  ) => (this: This, ...args: Args) => Promise<A>
  /** The `runInReactor` counterpart of {@link waitForMethod}. */
  runInReactorMethod(): <This, Args extends ReadonlyArray<any>, A, E>(
    method: (this: This, ...args: Args) => Effect.Effect<A, E, R>,
    context: ClassMethodDecoratorContext<This>
  ) => (this: This, ...args: Args) => EventualResult<A, E>
  /** A snapshot of calls in flight, outcomes, wait times and the last shutdown. */
  stats(): Stats
  /**
   * The stashed result with this id, once; throws `ResultNotFound` if unknown,
   * expired or already retrieved. An id from `stash()` keeps its result's type
   * ({@link StashId}); a plain string gives `EventualResult<unknown, unknown>`.
   */
  retrieve<A, E>(id: StashId<A, E>): EventualResult<A, E>
  retrieve(id: string): EventualResult<unknown, unknown>
  /**
   * Stops the reactor: refuses new calls, drains (`options.drain`), interrupts
   * the rest (their callers get `ReactorStopped`), then runs the layer's
   * finalizers. Idempotent; every call gets the same completion.
   */
  shutdown(): Promise<void>
  /**
   * `shutdown()`, for `await using reactor = Reactor.setup(layer)`: the
   * reactor stops when the block that declared it ends.
   */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * What `waitFor` and `runInReactor` take: an Effect, or a function returning one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Reactor } from "@crochet/core"
 *
 * const runnable: Reactor.Runnable = (name: string) => Effect.succeed(name.length)
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Runnable = Effect.Effect<any, any, any> | ((...args: ReadonlyArray<any>) => Effect.Effect<any, any, any>)

/**
 * What a type error names when an effect needs services its reactor does
 * not provide: the missing services `S`. Provide them to the effect
 * (`Effect.provide`), add them to the layer of `Reactor.setup`, or, for
 * `Reactor.make`, name them as its type parameter: `Reactor.make<Db | Http>()`
 * (it cannot infer them).
 *
 * @example
 * ```ts
 * import type { Reactor } from "@crochet/core"
 *
 * type Missing = Reactor.MissingServices<"Db">["Reactor: this effect needs services the reactor does not provide (add them to its layer, or name them: Reactor.make<Services>())"] // => "Db"
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export interface MissingServices<S> {
  readonly "Reactor: this effect needs services the reactor does not provide (add them to its layer, or name them: Reactor.make<Services>())":
    S
}

/**
 * `X` itself when the reactor's services `R` cover what `X` needs, else
 * {@link MissingServices} of the rest: the argument then fails to type-check
 * with a message naming them.
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { Reactor } from "@crochet/core"
 *
 * type Fine = Reactor.Provided<Effect.Effect<number, never, "Db">, "Db" | "Http"> // => Effect<number, never, "Db">
 * type Lacks = Reactor.Provided<Effect.Effect<number, never, "Db">, "Http">       // => MissingServices<"Db">
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Provided<X, R> = [Exclude<ServicesOf<X>, R>] extends [never] ? X
  // `any` services: an untyped effect, or not a Runnable at all (then the error names Runnable).
  : 0 extends 1 & ServicesOf<X> ? X
  : MissingServices<Exclude<ServicesOf<X>, R>>

type ServicesOf<X> = X extends Effect.Effect<any, any, infer S> ? S
  : X extends (...args: any) => Effect.Effect<any, any, infer S> ? S
  : never

/**
 * What `waitFor` returns for an Effect (a Promise of its value) or for a
 * function returning one (a {@link WaitForFunction}).
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { Reactor } from "@crochet/core"
 *
 * type Value = Reactor.WaitForResult<Effect.Effect<number>> // => Promise<number>
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type WaitForResult<X> = X extends Effect.Effect<infer A, any, any> ? Promise<A>
  : X extends (...args: infer Args) => Effect.Effect<infer A, infer E, infer S> ? WaitForFunction<Args, A, E, S>
  : never

/**
 * What `runInReactor` returns for an Effect (its {@link EventualResult}) or
 * for a function returning one (a {@link RunInReactorFunction}).
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { Reactor } from "@crochet/core"
 *
 * type Handle = Reactor.RunInReactorResult<Effect.Effect<number, Error>> // => EventualResult<number, Error>
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type RunInReactorResult<X> = X extends Effect.Effect<infer A, infer E, any> ? EventualResult<A, E>
  : X extends (...args: infer Args) => Effect.Effect<infer A, infer E, infer S> ? RunInReactorFunction<Args, A, E, S>
  : never

/**
 * The keys of {@link ReactorOptions}, for wrappers that take a reactor's
 * options among their own and check them with `checkOptions`.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 * import { checkOptions } from "@crochet/core/Bridge"
 *
 * const myOptions = checkOptions({ drain: "1 second", verbose: true }, [...Reactor.optionKeys, "verbose"], "myLibrary.start")
 * ```
 *
 * @since 0.1.0
 * @category options
 */
export const optionKeys: ReadonlyArray<keyof ReactorOptions> = reactorOptionKeys

/**
 * A reactor for an Effect application: it runs calls with the services `R`
 * of the enclosing context and shuts down (drain, interrupt, release) when
 * the enclosing scope closes, before the services' own finalizers run.
 * Name those services as the type parameter, `Reactor.make<Db | Http>()`:
 * `make` cannot infer them, and a plain `Reactor.make()` is a reactor with
 * no services, whose calls needing one fail to type-check with
 * {@link MissingServices}. Bad options throw `InvalidArgument` here.
 *
 * @example
 * ```ts no-run
 * import { createServer } from "node:http"
 * import { Effect } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const program = Effect.gen(function*() {
 *   const reactor = yield* Reactor.make({ drain: "5 seconds" })
 *   createServer((request, response) => {
 *     reactor.waitFor(Effect.succeed(`you asked for ${request.url}`), { timeout: "2 seconds" })
 *       .then((body) => response.end(body), () => response.writeHead(503).end())
 *   }).listen(8080)
 *   yield* Effect.never
 * })
 * Effect.runFork(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(options?: ReactorOptions): Effect.Effect<Reactor<R>, never, Scope.Scope | R> => {
  const settings = decodeSettings(options, "Reactor.make")
  return Effect.flatMap(Effect.context<Scope.Scope | R>(), (context) => {
    const reactor = new ReactorImpl<R>(settings, { _tag: "Context", context: context as never })
    return Effect.as(Effect.addFinalizer(() => reactor.shutdownEffect), reactor as Reactor<R>)
  })
}

/**
 * A reactor as a layer, under your own service key: `Reactor.make` in the
 * layer's scope. Services that hand callbacks to code not written in Effect
 * (an event emitter, an HTTP framework, a native binding) depend on the key;
 * when the layer graph is torn down the reactor stops (its callers get
 * `ReactorStopped`) before the services it uses are finalized. Bad options
 * throw `InvalidArgument` here.
 *
 * @example
 * ```ts
 * import { EventEmitter } from "node:events"
 * import { Context, Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * class Users extends Context.Service<Users, { readonly register: (name: string) => Effect.Effect<number> }>()("Users") {}
 * class AppReactor extends Context.Service<AppReactor, Reactor.Reactor<Users>>()("AppReactor") {}
 *
 * const UsersLive = Layer.succeed(Users, Users.of({ register: (name) => Effect.succeed(name.length) }))
 * const AppReactorLive = Reactor.layer(AppReactor, { drain: "5 seconds" }) // Layer<AppReactor, never, Users>
 *
 * // A service that hands a callback to an EventEmitter: it depends on the reactor.
 * const SignupsLive = Layer.effectDiscard(Effect.gen(function*() {
 *   const reactor = yield* AppReactor
 *   const emitter = new EventEmitter()
 *   const onSignup = (name: string) =>
 *     reactor.waitFor(Users.use((users) => users.register(name)), { timeout: "2 seconds" }).then(console.log)
 *   emitter.on("signup", onSignup)
 *   yield* Effect.addFinalizer(() => Effect.sync(() => emitter.off("signup", onSignup)))
 * }))
 *
 * const AppLive = SignupsLive.pipe(Layer.provide(AppReactorLive), Layer.provide(UsersLive))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const layer = <I, R = never>(
  key: Context.Key<I, Reactor<R>>,
  options?: ReactorOptions
): Layer.Layer<I, never, R> => Layer.effect(key, make<R>(options))

const setups = new Map<Layer.Layer<any, any, never>, ReactorImpl<any>>()

/**
 * A reactor for plain programs and libraries (Crochet's `setup()`): the layer
 * is built on first use, not now; if it fails, every waiting call rejects with
 * `ReactorStartFailed` and the next call tries again. Calling `setup` again
 * with the same layer object returns the same running reactor, with the
 * options of the first call (so several libraries can share one); after
 * `shutdown()` it sets up a new one.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 *
 * const reactor = Reactor.setup(Layer.empty, { logLevel: "Error" })
 * export const lookup = reactor.waitFor((name: string) => Effect.succeed(name.length), { timeout: "5 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const setup = <R, E>(layer: Layer.Layer<R, E, never>, options?: ReactorOptions): Reactor<R> => {
  const settings = decodeSettings(options, "Reactor.setup")
  const existing = setups.get(layer)
  if (existing !== undefined && existing.status === "running") return existing
  const reactor: ReactorImpl<R> = new ReactorImpl<R>(settings, {
    _tag: "Layer",
    layer,
    onStopped: () => {
      if (setups.get(layer) === reactor) setups.delete(layer)
    }
  })
  setups.set(layer, reactor)
  return reactor
}

/**
 * Shuts down every reactor made by `setup` that is still running, for exit
 * hooks and signal handlers. Resolves when all are stopped.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 *
 * process.once("SIGTERM", () => Reactor.shutdownAll().then(() => process.exit(143)))
 * ```
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const shutdownAll = async (): Promise<void> => {
  const reactors = [...setups.values()]
  setups.clear()
  await Promise.all(reactors.map((reactor) => reactor.shutdown()))
}
