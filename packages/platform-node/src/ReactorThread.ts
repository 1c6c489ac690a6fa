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
import type { ErrorClass } from "@crochet/core/EncodedCause"
import { InvalidArgument } from "@crochet/core/Errors"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Client, Operations } from "./BlockingClient.ts"
import type * as ClientModule from "./internal/client.ts"
import { errorClasses } from "./internal/codec.ts"
import { DefinitionTypeId, isDefinition as isDefinitionValue } from "./internal/definition.ts"
import { onFirstUse } from "./internal/onFirstUse.ts"
import { checkOptions, decodeLowLatency, toMillis } from "./internal/options.ts"
import type * as ThreadReactorModule from "./internal/threadReactor.ts"

// From the moment this package is loaded on the main thread, it listens for the reactor threads that
// worker threads connect, to shut them down when the process ends (connect loads the rest later).
// oxlint-disable-next-line import/no-unassigned-import -- loaded for that effect alone
import "./internal/liveThreads.ts"

// The calling side's machinery, loaded by the first `connect`: a reactor module imports this
// module for `define` only, and its thread should not load what only a caller needs.
const clientModule = onFirstUse<typeof ClientModule>("internal/client")
const threadReactorModule = onFirstUse<typeof ThreadReactorModule>("internal/threadReactor")

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
  /** The services the operations need; `undefined` for none. */
  readonly layer: Layer.Layer<any, any, never> | undefined
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
  /** The services the operations need; built once, when the thread starts. Leave it out for none. */
  readonly layer?: Layer.Layer<R, E, never> | undefined
  /**
   * The operations callers can call, by name: functions returning an Effect,
   * or plain `async` functions. Arguments and results must be structured-cloneable.
   */
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
 * Operations return an Effect, or are plain `async` functions: a rejection
 * then reaches the caller as it would from `Effect.promise` (the rejected
 * error itself, class and fields kept, as a defect), and a timeout releases
 * the caller but cannot stop the function. An operation that needs a service
 * the layer does not provide is a type error naming the fix ("add them to the
 * layer"). `layer` may be left out when the operations need no services.
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
 *     lookup: (name: string) => Effect.succeed(`${name} is 127.0.0.1`),
 *     later: async (text: string) => text.toUpperCase() // a plain async function
 *   },
 *   timeouts: { lookup: "2 seconds" },
 *   reactor: { drain: "1 second" }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <
  R = never,
  E = never,
  const Ops extends { readonly [K in keyof Ops]: Provided<Ops[K], R> } & Operations = Operations
>(
  definition: DefineOptions<R, E, Ops>
): Definition<Ops> => {
  checkOptions(definition, definitionKeys, "ReactorThread.define")
  checkOptions(definition.reactor, reactorOptionKeys, "ReactorThread.define: reactor")
  checkOptions(
    definition.timeouts,
    Object.keys(definition.operations ?? {}),
    "ReactorThread.define: timeouts (by operation)"
  )
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
 * An operation itself when the layer's services `R` cover what it needs;
 * else a type whose only key says what to do, so that the operation fails to
 * type-check with that message.
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { ReactorThread } from "@crochet/platform-node"
 *
 * type Fine = ReactorThread.Provided<() => Effect.Effect<number, never, "Db">, "Db">  // => () => Effect<number, never, "Db">
 * type Lacks = ReactorThread.Provided<() => Effect.Effect<number, never, "Db">, never> // => { "ReactorThread.define: ...": "Db" }
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Provided<F, R> = [Exclude<ServicesOfOperation<F>, R>] extends [never] ? F
  // `any` services: an untyped operation.
  : 0 extends 1 & ServicesOfOperation<F> ? F
  : {
    readonly "ReactorThread.define: this operation needs services its layer does not provide; add them to the layer":
      Exclude<ServicesOfOperation<F>, R>
  }

type ServicesOfOperation<F> = F extends (...args: any) => infer X ?
  X extends Effect.Effect<any, any, infer S> ? S : never
  : never

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
 * or of a definition's type. For {@link ModuleTypeNotGiven} (`connect` called
 * without the module's type), operations whose one name says what to do.
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
export type OperationsOf<M> = 0 extends 1 & M ? { readonly [name: string]: (...args: Array<any>) => any }
  : [M] extends [ModuleTypeNotGiven] ? {
      readonly "ReactorThread.connect: give the reactor module's type, connect<typeof import('./x.reactor.ts')>(url), or in JavaScript a JSDoc @type on the client (see docs/plugins.md)":
        never
    }
  : M extends Definition<infer Ops> ? Ops
  : M extends { readonly default: Definition<infer Ops> } ? Ops
  : never

/**
 * `connect`'s module type when none was given: its client's calls then fail
 * to type-check with a message saying how to give it (see {@link OperationsOf}).
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const untyped = ReactorThread.connect(new URL("./dns.reactor.ts", import.meta.url))
 * // untyped.call.lookup("example.com") does not type-check: "ReactorThread.connect: give the reactor module's type, ..."
 * untyped.shutdown()
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export interface ModuleTypeNotGiven {
  readonly [ModuleTypeNotGivenId]: typeof ModuleTypeNotGivenId
}

declare const ModuleTypeNotGivenId: unique symbol

/**
 * The client of a reactor module's type: what `connect<M>` returns, for a
 * type annotation (a JSDoc `@type` in JavaScript).
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const dns: ReactorThread.ClientOf<typeof import("./dns.reactor.ts")> = ReactorThread.connect(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * ) // the module's type comes from the annotation
 * dns.call.lookup("example.com") // => "93.184.215.14"
 * dns.shutdown()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ClientOf<M> = Client<OperationsOf<M>>

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
 * `module` is a URL (`new URL("./x.reactor.ts", import.meta.url)`: found next
 * to the calling module wherever the program runs from; the form for a
 * library), a `file:` or `data:` URL string, or a file path: absolute, or
 * relative to the current directory (`process.cwd()`, as `new Worker` and
 * `path.resolve` read it; synckit refuses relative paths). Anything else throws
 * `InvalidArgument`.
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
export const connect = <M = ModuleTypeNotGiven, Ops extends Operations = OperationsOf<M>>(
  module: URL | string,
  options?: ConnectOptions
): Client<Ops> => {
  const url = moduleUrl(module)
  const label = `reactor thread ${url.pathname.split("/").pop()}`
  checkOptions(options, connectKeys, "ReactorThread.connect")
  const lowLatency = decodeLowLatency(
    options?.lowLatency,
    lowLatencyDefaults,
    "ReactorThread.connect: options.lowLatency"
  )
  checkOptions(options?.resourceLimits, resourceLimitKeys, "ReactorThread.connect: options.resourceLimits")
  for (const [key, value] of Object.entries(options?.resourceLimits ?? {})) {
    // Node does not check these, and a bad one can abort the whole process when the thread starts.
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgument(
        `ReactorThread.connect: options.resourceLimits.${key} must be a positive number; got ${String(value)}.`
      )
    }
  }
  const remote = new (threadReactorModule().ThreadReactor)(url, label, {
    exportName: options?.exportName ?? "default",
    startTimeout: toMillis(options?.startTimeout, "ReactorThread.connect: options.startTimeout") ?? 30_000,
    shutdownTimeout: toMillis(options?.shutdownTimeout, "ReactorThread.connect: options.shutdownTimeout") ?? 15_000,
    reactorSpin: lowLatency?.reactorSpin ?? 0,
    busyPoll: Math.min(lowLatency?.reactorSpin ?? 0, lowLatency?.busyPoll ?? 0),
    resourceLimits: options?.resourceLimits
  })
  const client = clientModule().makeClient(remote, {
    timeout: toMillis(options?.timeout, "ReactorThread.connect: options.timeout"),
    spinMillis: lowLatency?.callerSpin ?? 0,
    errors: errorClasses(options?.errors, "ReactorThread.connect: options.errors"),
    traceContext: options?.traceContext !== false
  }) as Client<Ops>
  if (options?.eager !== false) remote.start()
  return client
}

/**
 * The reactor module's URL: a `URL`, a `file:` or `data:` URL string, or a
 * file path, absolute or relative to the current directory (as `new Worker`
 * and `path.resolve` take it; synckit refuses relative paths).
 */
const moduleUrl = (module: unknown): URL => {
  if (module instanceof URL) return checkProtocol(module, module.href)
  if (typeof module === "string" && module !== "") {
    if (isAbsolute(module)) return pathToFileURL(module)
    if (URL.canParse(module)) return checkProtocol(new URL(module), module)
    return pathToFileURL(resolve(module))
  }
  throw new InvalidArgument(
    `ReactorThread.connect: the reactor module must be a file path or a URL; got ${
      module === "" ? "an empty string" : module === null ? "null" : typeof module
    }. Pass new URL("./x.reactor.ts", import.meta.url) (found next to the calling module, wherever the program ` +
      "runs from), or a path (a relative one is resolved against the current directory)."
  )
}

const checkProtocol = (url: URL, given: string): URL => {
  if (url.protocol === "file:" || url.protocol === "data:") return url
  throw new InvalidArgument(
    `ReactorThread.connect: a reactor thread loads its module from a file (or a data: URL); got ${
      JSON.stringify(given)
    }. ` +
      "Pass new URL(\"./x.reactor.ts\", import.meta.url), or a file path."
  )
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
const resourceLimitKeys = [
  "maxYoungGenerationSizeMb",
  "maxOldGenerationSizeMb",
  "codeRangeSizeMb",
  "stackSizeMb"
] as const

/** `lowLatency: true`: a 1 ms window, busy-polled for its first 0.2 ms; the caller spins 50 µs. */
const lowLatencyDefaults = { reactorSpin: 1, busyPoll: 0.2, callerSpin: 0.05 }
