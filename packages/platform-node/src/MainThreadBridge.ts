/**
 * Worker threads calling the main thread's reactor (Crochet's `no_setup()`
 * plus a thread pool): an Effect application that owns its reactor on the
 * main thread serves some operations; synchronous code in a worker thread
 * calls them and blocks until the answer.
 *
 * The examples of this module serve `./render.ts`, the operations the main
 * thread offers, to `./render-worker.ts`, a worker that calls them:
 *
 * ```ts
 * // render.ts: the main thread's services and the operations it serves
 * import { Context, Effect, Layer } from "effect"
 *
 * export class Templates extends Context.Service<Templates, {
 *   readonly render: (page: string) => Effect.Effect<string>
 * }>()("Templates") {}
 *
 * export const TemplatesLive = Layer.succeed(Templates, { render: (page: string) => Effect.succeed(`<h1>${page}</h1>`) })
 *
 * export const operations = {
 *   render: (page: string) => Templates.use((templates) => templates.render(page))
 * }
 *
 * // render-worker.ts: synchronous code in a worker thread
 * // import { MainThreadBridge } from "@crochet/platform-node"
 * // import { parentPort, workerData } from "node:worker_threads"
 * // import type { operations } from "./render.ts"
 * //
 * // const main = MainThreadBridge.connect<typeof operations>(workerData.endpoint, { timeout: "5 seconds" })
 * // parentPort!.postMessage(["/home", "/about"].map((page) => main.call.render(page))) // each call blocks
 * // main.shutdown()
 * ```
 *
 * @since 0.1.0
 */
import { InvalidArgument, Reactor, ReactorStopped } from "@crochet/core"
import type { ErrorClass } from "@crochet/core/EncodedCause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { MessageChannel, type MessagePort, threadId } from "node:worker_threads"
import type { Client, Operations } from "./BlockingClient.ts"
import { WrongThread } from "./Errors.ts"
import { makeClient } from "./internal/client.ts"
import { errorClasses } from "./internal/codec.ts"
import { MainThreadReactor } from "./internal/mainThreadReactor.ts"
import { checkOptions, decodeLowLatency, toMillis } from "./internal/options.ts"
import * as Protocol from "./internal/protocol.ts"
import * as Released from "./internal/released.ts"
import { Server } from "./internal/server.ts"

const EndpointTypeId: unique symbol = Symbol.for("@crochet/platform-node/MainThreadBridge/Endpoint") as never

/**
 * What one worker thread needs to call the main thread's reactor: plain data
 * plus a `MessagePort`. Send it in `workerData` and list `endpoint.port` in
 * the `transferList`. One endpoint serves one worker.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 * import { MainThreadBridge } from "@crochet/platform-node"
 * import { Worker } from "node:worker_threads"
 * import { operations, TemplatesLive } from "./render.ts"
 *
 * const bridge = MainThreadBridge.serve(Reactor.setup(TemplatesLive), operations)
 * const endpoint: MainThreadBridge.Endpoint<typeof operations> = bridge.endpoint()
 * endpoint.operations // => ["render"]
 * new Worker(new URL("./render-worker.ts", import.meta.url), {
 *   workerData: { endpoint },
 *   transferList: [endpoint.port]
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint<Ops extends Operations = Operations> {
  readonly port: MessagePort
  readonly buffer: SharedArrayBuffer
  readonly operations: ReadonlyArray<string>
  readonly timeouts: Readonly<Record<string, number>>
  /** The thread whose reactor serves this endpoint: blocking on it from there would deadlock. */
  readonly servingThread: number
  /** Carries the operations' type to `connect`; never set. */
  readonly [EndpointTypeId]?: Ops | undefined
}

/**
 * The main thread's side of a bridge.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 * import { MainThreadBridge } from "@crochet/platform-node"
 * import { operations, TemplatesLive } from "./render.ts"
 *
 * const bridge: MainThreadBridge.Bridge<typeof operations> = MainThreadBridge.serve(Reactor.setup(TemplatesLive), operations)
 * const endpoint = bridge.endpoint() // one per worker, sent in its workerData
 * // ...
 * bridge.close() // every worker still blocked gets ReactorStopped; bridge.endpoint() now throws it
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Bridge<Ops extends Operations> {
  /** A new endpoint for one worker thread. Throws `ReactorStopped` once the bridge is closed. */
  endpoint(): Endpoint<Ops>
  /** Stops serving: every blocked worker is released with `ReactorStopped`, later calls throw it. Idempotent. */
  close(): void
}

/**
 * Options of {@link serve}. Durations are Effect `Duration.Input`s; a bad one
 * throws `InvalidArgument` at `serve`.
 *
 * @example
 * ```ts
 * import type { MainThreadBridge } from "@crochet/platform-node"
 * import type { operations } from "./render.ts"
 *
 * const options: MainThreadBridge.ServeOptions<typeof operations> = { timeouts: { render: "1 second" }, lowLatency: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions<Ops extends Operations = Operations> {
  /** Default timeout of each operation (a call's own timeout wins). */
  readonly timeouts?: { readonly [K in keyof Ops]?: Duration.Input } | undefined
  /**
   * Low-latency mode, as `ReactorThread.connect`'s: after each answer the
   * main thread keeps busy-polling the worker's port for `reactorSpin`
   * (`true`: 0.2 ms, `ReactorThread`'s `busyPoll`), holding its event loop
   * meanwhile. Default: off. See docs/threads.md.
   */
  readonly lowLatency?: boolean | { readonly reactorSpin?: Duration.Input | undefined } | undefined
}

/**
 * Options of {@link make}: those of {@link serve}, plus the options of the
 * reactor it makes.
 *
 * @example
 * ```ts
 * import type { MainThreadBridge } from "@crochet/platform-node"
 * import type { operations } from "./render.ts"
 *
 * const options: MainThreadBridge.MakeOptions<typeof operations> = { timeouts: { render: "1 second" }, reactor: { drain: "5 seconds" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions<Ops extends Operations = Operations> extends ServeOptions<Ops> {
  /** Options of the reactor (drain, shutdownTimeout, logLevel, ...). */
  readonly reactor?: Reactor.ReactorOptions | undefined
}

/**
 * Options of {@link connect}, in the worker. Durations are Effect
 * `Duration.Input`s; a bad one, or an unknown key, throws `InvalidArgument`
 * at `connect`.
 *
 * @example
 * ```ts
 * import type { MainThreadBridge } from "@crochet/platform-node"
 *
 * class NotFound extends Error { readonly _tag = "NotFound" }
 * const options: MainThreadBridge.ConnectOptions = { timeout: "5 seconds", errors: [NotFound], traceContext: false }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Default timeout of every call, below the operation's own default. No limit when absent. */
  readonly timeout?: Duration.Input | undefined
  /** Error classes to rebuild failures as, matched by `_tag` (see `ReactorThread.ConnectOptions`). */
  readonly errors?: ReadonlyArray<ErrorClass> | undefined
  /**
   * Low-latency mode, as `ReactorThread.connect`'s: spin for `callerSpin`
   * (`true`: 50 µs) before parking in `Atomics.wait`. Default: off.
   */
  readonly lowLatency?: boolean | { readonly callerSpin?: Duration.Input | undefined } | undefined
  /** Send this worker's active OpenTelemetry span with each call (see `ReactorThread.ConnectOptions`). Default: true. */
  readonly traceContext?: boolean | undefined
}

/**
 * Serves `operations` from `reactor` (made with core's `Reactor.make` or
 * `Reactor.setup` in THIS thread) to worker threads. Calls run in the
 * reactor like `runInReactor`; when the reactor shuts down, workers blocked
 * on a call are released with `ReactorStopped` (core interrupts the work) and
 * later calls fail with it at once; under `NodeReactor` the process waits up
 * to 1 s for each released worker's own handling before it exits. The bridge
 * does not keep the process alive. Bad timeouts throw `InvalidArgument` here.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { MainThreadBridge } from "@crochet/platform-node"
 *
 * export const operations = { add: (a: number, b: number) => Effect.succeed(a + b) }
 *
 * const reactor = Reactor.setup(Layer.empty)
 * const bridge = MainThreadBridge.serve(reactor, operations, { timeouts: { add: "1 second" } })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = <
  R,
  const Ops extends { readonly [name: string]: (...args: Array<any>) => Effect.Effect<any, any, R> | PromiseLike<any> }
>(
  reactor: Reactor.Reactor<R>,
  operations: Ops,
  options?: ServeOptions<Ops>
): Bridge<Ops> => {
  if (typeof reactor?.runCallback !== "function") {
    throw new InvalidArgument("MainThreadBridge.serve expects a reactor from Reactor.make or Reactor.setup.")
  }
  checkOptions(options, serveKeys, "MainThreadBridge.serve")
  checkOptions(options?.timeouts, Object.keys(operations), "MainThreadBridge.serve: options.timeouts (by operation)")
  const timeouts: Record<string, number> = {}
  for (const [name, timeout] of Object.entries(options?.timeouts ?? {})) {
    const millis = toMillis(timeout, `MainThreadBridge.serve: timeouts.${name}`)
    if (millis !== undefined) timeouts[name] = millis
  }
  const spinMillis =
    decodeLowLatency(options?.lowLatency, serveLowLatency, "MainThreadBridge.serve: options.lowLatency")?.reactorSpin ??
      0
  const served = new Set<{ readonly server: Server; readonly state: Int32Array; readonly port: MessagePort }>()
  let closed = false
  const names = Object.keys(operations)
  return {
    endpoint() {
      if (closed) throw new ReactorStopped({ message: "This MainThreadBridge is closed; serve a new one." })
      const buffer = new SharedArrayBuffer(Protocol.slots * Int32Array.BYTES_PER_ELEMENT)
      const state = new Int32Array(buffer)
      Atomics.store(state, Protocol.STATE, Protocol.Ready)
      const { port1, port2 } = new MessageChannel()
      const entry = {
        state,
        port: port1,
        server: new Server(reactor, operations, port1, state, {
          spinMillis,
          watchRequests: false,
          busyMillis: spinMillis,
          onShutdown: undefined,
          countReleases: true
        })
      }
      served.add(entry)
      port1.on("close", () => {
        entry.server.close()
        served.delete(entry)
      })
      port1.unref()
      return { port: port2, buffer, operations: names, timeouts, servingThread: threadId }
    },
    close() {
      if (closed) return
      closed = true
      for (const entry of served) {
        // A worker blocked in a call is released by this: its own handling comes next.
        if (entry.server.inFlight > 0) Released.count(entry.state)
        entry.server.close()
        Protocol.setState(entry.state, Protocol.Stopped)
        entry.port.close()
      }
      served.clear()
    }
  }
}

/**
 * The services the operations need, from their Effects' types.
 *
 * @example
 * ```ts
 * import type { MainThreadBridge } from "@crochet/platform-node"
 * import type { operations } from "./render.ts"
 *
 * type Needs = MainThreadBridge.ServicesOf<typeof operations> // => Templates
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ServicesOf<Ops extends Operations> = {
  readonly [K in keyof Ops]: Effect.Services<ReturnType<Ops[K]>>
}[keyof Ops]

/**
 * For an Effect application: makes a reactor (core's `Reactor.make`) over the
 * services of the enclosing context and serves `operations` from it. When the
 * scope closes, the reactor shuts down first (workers' calls in flight may
 * finish within its `drain`; the rest are interrupted and their workers get
 * `ReactorStopped`), then the bridge closes, then the released workers get up
 * to 1 s to run their own handling (until their event loop turns again),
 * then the services' finalizers run.
 *
 * @example
 * ```ts no-run
 * import { Effect } from "effect"
 * import { runMain } from "@effect/platform-node/NodeRuntime"
 * import { MainThreadBridge } from "@crochet/platform-node"
 * import { Worker } from "node:worker_threads"
 * import { operations, TemplatesLive } from "./render.ts"
 *
 * const program = Effect.gen(function*() {
 *   const bridge = yield* MainThreadBridge.make(operations, { timeouts: { render: "1 second" } })
 *   const endpoint = bridge.endpoint()
 *   const worker = new Worker(new URL("./render-worker.ts", import.meta.url), {
 *     workerData: { endpoint },
 *     transferList: [endpoint.port]
 *   })
 *   worker.on("message", (pages) => console.log(pages)) // [ '<h1>/home</h1>', '<h1>/about</h1>' ]
 *   yield* Effect.never // serve until interrupted (Ctrl-C)
 * })
 * runMain(program.pipe(Effect.scoped, Effect.provide(TemplatesLive)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Ops extends Operations>(
  operations: Ops,
  options?: MakeOptions<Ops>
): Effect.Effect<Bridge<Ops>, never, Scope.Scope | ServicesOf<Ops>> => {
  checkOptions(options, makeKeys, "MainThreadBridge.make")
  const { reactor: reactorOptions, ...serveOptions } = options ?? {}
  return Effect.flatMap(Reactor.make<ServicesOf<Ops>>(reactorOptions), (reactor) =>
    Effect.acquireRelease(
      Effect.sync(() => serve(reactor, operations, serveOptions)),
      // The reactor shuts down first, so its drain applies to the workers' calls too; the
      // bridge then closes, releasing any worker that still waits. (The scope's own shutdown
      // of the reactor, next, finds it stopped.)
      // Workers released meanwhile then get to run their own handling (up to 1 s) before the services close.
      (bridge) =>
        Effect.promise(() => reactor.shutdown()).pipe(
          Effect.ensuring(Effect.sync(() => bridge.close())),
          Effect.andThen(Effect.promise(Released.awaitHandling))
        )
    ))
}

const serveKeys = ["timeouts", "lowLatency"] as const
const makeKeys = ["timeouts", "lowLatency", "reactor"] as const
const connectKeys = ["timeout", "errors", "lowLatency", "traceContext"] as const
/** `lowLatency: true` of `serve`: the main thread busy-polls all along (it has no request counter to sleep on). */
const serveLowLatency = { reactorSpin: 0.2 }
/** `lowLatency: true` of `connect`: the worker spins 50 µs before parking, as `ReactorThread`'s caller. */
const connectLowLatency = { callerSpin: 0.05 }

/**
 * Connects a worker thread to the main thread's reactor through an
 * endpoint from `bridge.endpoint()`. The client's calls block this worker
 * until the answer, a failure or a timeout (which interrupts the work in the
 * main reactor). Calling it from the serving thread itself throws
 * `WrongThread` (it would deadlock).
 *
 * @example
 * ```ts no-run
 * // worker.ts, started by the main thread with an endpoint in its workerData (see `Endpoint`)
 * import { workerData } from "node:worker_threads"
 * import { MainThreadBridge } from "@crochet/platform-node"
 * import type { operations } from "./render.ts"
 *
 * const main = MainThreadBridge.connect<typeof operations>(workerData.endpoint, { timeout: "5 seconds" })
 * main.call.render("/home") // => "<h1>/home</h1>", rendered in the main thread's reactor
 * main.shutdown()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <Ops extends Operations = Operations>(
  endpoint: Endpoint<Ops>,
  options?: ConnectOptions
): Client<Ops> => {
  if (
    typeof endpoint !== "object" || endpoint === null || !(endpoint.buffer instanceof SharedArrayBuffer) ||
    typeof endpoint.port?.postMessage !== "function"
  ) {
    throw new InvalidArgument(
      "MainThreadBridge.connect expects an endpoint from bridge.endpoint(), sent in workerData with its port in the transferList."
    )
  }
  if (endpoint.servingThread === threadId) {
    throw new WrongThread({
      message:
        "MainThreadBridge.connect was called in the thread that serves the bridge: a blocking call there would " +
        "deadlock (wait() must not be run in the reactor thread). Call the reactor directly here (reactor.waitFor)."
    })
  }
  checkOptions(options, connectKeys, "MainThreadBridge.connect")
  const remote = new MainThreadReactor(endpoint)
  return makeClient(remote, {
    timeout: toMillis(options?.timeout, "MainThreadBridge.connect: options.timeout"),
    spinMillis: decodeLowLatency(options?.lowLatency, connectLowLatency, "MainThreadBridge.connect: options.lowLatency")
      ?.callerSpin ?? 0,
    errors: errorClasses(options?.errors, "MainThreadBridge.connect: options.errors"),
    traceContext: options?.traceContext !== false
  }) as Client<Ops>
}
