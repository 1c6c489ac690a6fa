/**
 * A reactor in a background thread, called synchronously (Crochet's
 * `setup()` + `@wait_for` for code that cannot await). A module defines the
 * operations and the layer they need; `connect` runs it in a worker thread and
 * returns a typed client whose calls block until the result, a failure or a
 * timeout.
 *
 * The examples of this package call `./dns.reactor.ts`, a reactor module like
 * this one (its error class lives in `./dns-errors.ts`, so that callers can
 * import it for `instanceof` without loading the reactor's services):
 *
 * ```ts
 * // dns.reactor.ts: loaded by the reactor thread
 * import { Context, Effect, Layer } from "effect"
 * import { ReactorThread } from "@crochet/platform-node"
 * import { LookupError } from "./dns-errors.ts"
 *
 * class Resolver extends Context.Service<Resolver, {
 *   readonly lookup: (host: string) => Effect.Effect<string, LookupError>
 * }>()("Resolver") {}
 *
 * const ResolverLive = Layer.succeed(Resolver, {
 *   lookup: (host) => {
 *     const known: Record<string, string> = { "example.com": "93.184.215.14", localhost: "127.0.0.1" }
 *     const address = known[host]
 *     return address === undefined ? Effect.fail(new LookupError({ host, message: `no address for ${host}` })) : Effect.succeed(address)
 *   }
 * })
 *
 * export default ReactorThread.define({
 *   layer: ResolverLive,
 *   operations: { lookup: (host: string) => Resolver.use((resolver) => resolver.lookup(host)) },
 *   timeouts: { lookup: "2 seconds" }
 * })
 *
 * // dns-errors.ts
 * // export class LookupError extends Data.TaggedError("LookupError")<{ readonly message: string; readonly host: string }> {}
 * ```
 *
 * @since 0.1.0
 */
import type { Reactor } from "@crochet/core"
import { InvalidArgument } from "@crochet/core/Errors"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { Client, Operations } from "./BlockingClient.ts"
import { makeClient } from "./internal/client.ts"
import type { ErrorClass } from "@crochet/core/EncodedCause"
import { errorClasses } from "./internal/codec.ts"
import { DefinitionTypeId, isDefinition as isDefinitionValue } from "./internal/definition.ts"
import { checkOptions, decodeLowLatency, toMillis } from "./internal/options.ts"
import { ThreadReactor } from "./internal/threadReactor.ts"


/**
 * What a reactor module exports: its operations, the layer they need, and
 * their default timeouts. Made by {@link define}.
 *
 * @example
 * ```ts
 * // dns.reactor.ts: its default export is a Definition
 * import { Effect, Layer } from "effect"
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const definition = ReactorThread.define({
 *   layer: Layer.empty,
 *   operations: { lookup: (name: string) => Effect.succeed(`${name} is 127.0.0.1`) },
 *   timeouts: { lookup: "2 seconds" }
 * })
 * Object.keys(definition.operations) // => ["lookup"]
 * definition.timeouts                  // => { lookup: 2000 }
 * export default definition
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<Ops extends Operations> {
  readonly [DefinitionTypeId]: typeof DefinitionTypeId
  readonly operations: Ops
  readonly layer: Layer.Layer<any, any, never>
  /** Default timeouts in milliseconds, by operation. */
  readonly timeouts: Readonly<Record<string, number>>
  readonly reactorOptions: Reactor.ReactorOptions | undefined
}

/**
 * What {@link define} takes: the layer, the operations, and the defaults of
 * the reactor module. Durations are Effect `Duration.Input`s; a bad one
 * throws `InvalidArgument` at `define`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import type { ReactorThread } from "@crochet/platform-node"
 *
 * const operations = { add: (a: number, b: number) => Effect.succeed(a + b) }
 * const options: ReactorThread.DefineOptions<never, never, typeof operations> = {
 *   layer: Layer.empty,
 *   operations,
 *   timeouts: { add: "1 second" },
 *   reactor: { logLevel: "Error" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface DefineOptions<R, E, Ops extends Operations> {
  /** The services the operations need; built once, when the thread starts. */
  readonly layer: Layer.Layer<R, E, never>
  /** The operations callers can call, by name. Arguments and results must be structured-cloneable. */
  readonly operations: Ops
  /** Default timeout of each operation (a call's own timeout wins). */
  readonly timeouts?: { readonly [K in keyof Ops]?: Duration.Input } | undefined
  /**
   * Options of the reactor in the thread (drain, logLevel, logger, name, ...).
   * Its shutdown is bounded by `connect`'s `shutdownTimeout`, which reports
   * an overrun in the calling thread: its own `shutdownTimeout` is none by default.
   */
  readonly reactor?: Reactor.ReactorOptions | undefined
}

/**
 * Defines a reactor module. Export the result (as the default export, or
 * under a name given to `connect` as `exportName`). Bad timeouts throw
 * `InvalidArgument` here.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * export default ReactorThread.define({
 *   layer: Layer.empty,
 *   operations: {
 *     add: (a: number, b: number) => Effect.succeed(a + b),
 *     lookup: (name: string) => Effect.succeed(`${name} is 127.0.0.1`)
 *   },
 *   timeouts: { lookup: "2 seconds" },
 *   reactor: { drain: "1 second" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <R, E, const Ops extends { readonly [name: string]: (...args: Array<any>) => Effect.Effect<any, any, R> }>(
  definition: DefineOptions<R, E, Ops>
): Definition<Ops> => {
  checkOptions(definition, definitionKeys, "ReactorThread.define")
  checkOptions(definition.reactor, reactorOptionKeys, "ReactorThread.define: reactor")
  checkOptions(definition.timeouts, Object.keys(definition.operations ?? {}), "ReactorThread.define: timeouts (by operation)")
  const timeouts: Record<string, number> = {}
  for (const [name, timeout] of Object.entries(definition.timeouts ?? {})) {
    const millis = toMillis(timeout, `ReactorThread.define: timeouts.${name}`)
    if (millis !== undefined) timeouts[name] = millis
  }
  return {
    [DefinitionTypeId]: DefinitionTypeId,
    operations: definition.operations,
    layer: definition.layer,
    timeouts,
    reactorOptions: definition.reactor
  }
}

const definitionKeys = ["layer", "operations", "timeouts", "reactor"] as const
/**
 * Core's `Reactor.optionKeys`, spelt out: importing core's `Reactor` here would
 * load Effect's runtime into every calling thread. A record, so that the
 * compiler finds a key missing or left over (and the options test compares).
 */
const reactorOptionKeys = Object.keys(
  {
    drain: 0,
    shutdownTimeout: 0,
    logLevel: 0,
    logger: 0,
    resultStore: 0,
    name: 0
  } satisfies Record<keyof Reactor.ReactorOptions, 0>
)

/**
 * Whether a value was made by {@link define}.
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const module = await import("./dns.reactor.ts")
 * ReactorThread.isDefinition(module.default)         // => true
 * ReactorThread.isDefinition({ operations: {} })     // => false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isDefinition: (value: unknown) => value is Definition<Operations> = isDefinitionValue as never

/**
 * The operations of a reactor module's type (`typeof import("./x.reactor.ts")`)
 * or of a definition's type.
 *
 * @example
 * ```ts
 * import type { ReactorThread } from "@crochet/platform-node"
 *
 * type DnsOperations = ReactorThread.OperationsOf<typeof import("./dns.reactor.ts")>
 * type LookupArguments = Parameters<DnsOperations["lookup"]> // => [host: string]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type OperationsOf<M> = M extends Definition<infer Ops> ? Ops
  : M extends { readonly default: Definition<infer Ops> } ? Ops
  : never

/**
 * Options of {@link connect}. Durations are Effect `Duration.Input`s.
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 * import { LookupError } from "./dns-errors.ts"
 *
 * const options: ReactorThread.ConnectOptions = { timeout: "5 seconds", errors: [LookupError], lowLatency: true }
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url),
 *   options
 * )
 * try {
 *   dns.call.lookup("nowhere.invalid")
 * } catch (error) {
 *   error instanceof LookupError // => true (rebuilt as the class given in `errors`)
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Default timeout of every call, below the operation's own default. No limit when absent. */
  readonly timeout?: Duration.Input | undefined
  /**
   * Start the thread at `connect`, in the background (the default): loading
   * `effect` and building the layer then overlap with what the caller does
   * until its first call, which waits only for what is left. `connect` never
   * blocks. `false`: start on the first call (or `ready()`), for a client
   * that may never be used — an eager thread costs a start-up even then, and
   * process exit waits for it to finish starting before shutting it down.
   */
  readonly eager?: boolean | undefined
  /** The most the first call waits for the thread to start (module loaded, layer built). Default: 30 seconds. */
  readonly startTimeout?: Duration.Input | undefined
  /**
   * The most `shutdown()` (and process exit) waits for the reactor's
   * finalizers. Past it the thread is terminated, and a `ReactorThreadWarning`
   * naming it is emitted (written to stderr at once at process exit).
   * Default: 15 seconds.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
  /** The export of the module holding the definition. Default: `"default"`. */
  readonly exportName?: string | undefined
  /**
   * Your error classes, to rebuild failures as (matched by `_tag`, or by
   * `name` for an error without one): with them, `error instanceof
   * LookupError` holds on this side. The toolkit's own errors, Effect's
   * (`TimeoutError`, ...) and JavaScript's (`TypeError`, ...) are rebuilt
   * anyway; any other failure is a plain `Error` with the same name,
   * message, `_tag`, fields and stack. The same option as the Redis store's.
   * Anything but an array of classes throws `InvalidArgument`.
   */
  readonly errors?: ReadonlyArray<ErrorClass> | undefined
  /**
   * For bursts of back-to-back calls whose operations finish without waiting
   * on I/O. After each answer the reactor thread stays out of its event loop
   * for up to `reactorSpin` (default 1 ms) and answers the next calls
   * synchronously: it busy-polls its port for the first `busyPoll` (default
   * 0.2 ms), then sleeps in `Atomics.wait` on the shared buffer. The caller
   * spins for `callerSpin` (default 50 µs) before parking. Spinning is
   * adaptive: a side whose spins stop catching anything (a pause in the burst,
   * or no free core) spins less and less often, so the mode cannot fall far
   * below the default one. Spinning burns CPU and the reactor's event loop
   * waits meanwhile: see docs/threads.md.
   */
  readonly lowLatency?:
    | boolean
    | {
      readonly reactorSpin?: Duration.Input | undefined
      readonly busyPoll?: Duration.Input | undefined
      readonly callerSpin?: Duration.Input | undefined
    }
    | undefined
  /** Resource limits of the reactor thread (`Worker` `resourceLimits`), e.g. `{ maxOldGenerationSizeMb: 256 }`. */
  readonly resourceLimits?: { readonly [key: string]: number } | undefined
  /**
   * Send the calling thread's active OpenTelemetry span (if any) with each
   * call, so that the serving reactor's span for the call is its child: one
   * trace across the thread boundary. The call's timeout goes along, and the
   * reactor thread times the call out itself too, so that its span records
   * the timeout. `@opentelemetry/api` is loaded only once OpenTelemetry is set
   * up in this thread; without an active span nothing extra is sent.
   * Default: true.
   */
  readonly traceContext?: boolean | undefined
}

/**
 * Runs the reactor module at `module` in a worker thread and returns a
 * blocking client typed from the module (`typeof import(...)`). The thread
 * starts at once in the background (`eager: false`: on the first call); it
 * does not keep the process alive, and is shut down (finalizers run) when the
 * process exits.
 *
 * If the thread dies (crash, `process.exit` in it, out of memory), every
 * blocked caller is released at once with `ReactorStopped` naming the reason,
 * and the NEXT call starts a new thread (building the layer again). After
 * `client.shutdown()` calls throw `ReactorStopped`: a shutdown is final.
 *
 * Each call to `connect` makes its own thread; connect once per module and
 * share the client within this thread. Blocking calls must not be made from
 * a reactor thread (they throw `WrongThread`).
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url),
 *   { timeout: "5 seconds" }
 * )
 * dns.call.lookup("example.com")                         // => "93.184.215.14" (blocks until the answer)
 * dns.with({ timeout: "100 millis" }).lookup("localhost") // => "127.0.0.1"
 * dns.shutdown()                                         // blocks until the thread has stopped
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <M>(module: URL | string, options?: ConnectOptions): Client<OperationsOf<M>> => {
  const url = typeof module === "string" ? new URL(module) : module
  if (!(url instanceof URL)) throw new InvalidArgument("ReactorThread.connect: module must be a URL (new URL(\"./x.reactor.ts\", import.meta.url)).")
  const label = `reactor thread ${url.pathname.split("/").pop()}`
  checkOptions(options, connectKeys, "ReactorThread.connect")
  const lowLatency = decodeLowLatency(options?.lowLatency, lowLatencyDefaults, "ReactorThread.connect: options.lowLatency")
  checkOptions(options?.resourceLimits, resourceLimitKeys, "ReactorThread.connect: options.resourceLimits")
  for (const [key, value] of Object.entries(options?.resourceLimits ?? {})) {
    // Node does not check these, and a bad one can abort the whole process when the thread starts.
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgument(`ReactorThread.connect: options.resourceLimits.${key} must be a positive number; got ${String(value)}.`)
    }
  }
  const remote = new ThreadReactor(url, label, {
    exportName: options?.exportName ?? "default",
    startTimeout: toMillis(options?.startTimeout, "ReactorThread.connect: options.startTimeout") ?? 30_000,
    shutdownTimeout: toMillis(options?.shutdownTimeout, "ReactorThread.connect: options.shutdownTimeout") ?? 15_000,
    reactorSpin: lowLatency?.reactorSpin ?? 0,
    busyPoll: Math.min(lowLatency?.reactorSpin ?? 0, lowLatency?.busyPoll ?? 0),
    resourceLimits: options?.resourceLimits
  })
  const client = makeClient(remote, {
    timeout: toMillis(options?.timeout, "ReactorThread.connect: options.timeout"),
    spinMillis: lowLatency?.callerSpin ?? 0,
    errors: errorClasses(options?.errors, "ReactorThread.connect: options.errors"),
    traceContext: options?.traceContext !== false
  }) as Client<OperationsOf<M>>
  if (options?.eager !== false) remote.start()
  return client
}

// A record, so that a new option must be added here too.
const connectKeys = Object.keys(
  {
    timeout: 0,
    eager: 0,
    startTimeout: 0,
    shutdownTimeout: 0,
    exportName: 0,
    errors: 0,
    lowLatency: 0,
    resourceLimits: 0,
    traceContext: 0
  } satisfies Record<keyof ConnectOptions, 0>
)
/** The keys of Node's `ResourceLimits`: Node ignores others in silence. */
const resourceLimitKeys = ["maxYoungGenerationSizeMb", "maxOldGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"] as const

/** `lowLatency: true`: a 1 ms window, busy-polled for its first 0.2 ms; the caller spins 50 µs. */
const lowLatencyDefaults = { reactorSpin: 1, busyPoll: 0.2, callerSpin: 0.05 }
