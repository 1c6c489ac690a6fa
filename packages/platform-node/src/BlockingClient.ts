/**
 * The client that synchronous code uses to call a reactor in another thread
 * and block until the answer: `client.call.op(...)` waits, `client.start.op(...)`
 * returns a {@link ThreadResult} handle at once. Both bridges hand out this
 * client: `ReactorThread.connect` (a reactor in a worker thread) and
 * `MainThreadBridge.connect` (a worker calling the main thread's reactor).
 *
 * The examples call `./dns.reactor.ts`, the reactor module shown in
 * `ReactorThread`'s overview.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"

/**
 * Operations by name: functions from plain data to an Effect, or plain
 * `async` functions (a rejection reaches the caller as from `Effect.promise`:
 * the rejected error itself, as a defect).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { BlockingClient } from "@crochet/platform-node"
 *
 * const operations = {
 *   length: (name: string) => Effect.succeed(name.length),
 *   add: async (a: number, b: number) => a + b
 * } satisfies BlockingClient.Operations
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Operations = {
  readonly [name: string]: (...args: Array<any>) => Effect.Effect<any, any, any> | PromiseLike<any>
}

/**
 * What an operation's result gives the caller: an Effect's success, a Promise's value.
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { BlockingClient } from "@crochet/platform-node"
 *
 * type FromEffect = BlockingClient.Success<Effect.Effect<number, Error>> // => number
 * type FromPromise = BlockingClient.Success<Promise<string>>             // => string
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Success<R> = R extends Effect.Effect<infer A, any, any> ? A : Awaited<R>

/**
 * An operation's typed failure: an Effect's error; `never` for a Promise,
 * whose rejection is a defect (as with `Effect.promise`).
 *
 * @example
 * ```ts
 * import type { Effect } from "effect"
 * import type { BlockingClient } from "@crochet/platform-node"
 *
 * type FromEffect = BlockingClient.Failure<Effect.Effect<number, RangeError>> // => RangeError
 * type FromPromise = BlockingClient.Failure<Promise<string>>                 // => never
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Failure<R> = R extends Effect.Effect<any, infer E, any> ? E : never

/**
 * Options of one blocking call (`client.with(options)`, `result.wait(options)`).
 * Anything but an object (`wait(100)`), an unknown key (`{ timout: 100 }`)
 * or a bad duration throws core's `InvalidArgument` at the call.
 *
 * @example
 * ```ts
 * import { type BlockingClient, ReactorThread } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * dns.ready() // the thread's start-up is not the 200 ms of the calls below
 * const options: BlockingClient.CallOptions = { timeout: "200 millis" }
 * dns.with(options).lookup("example.com")        // => "93.184.215.14"
 * dns.start.lookup("localhost").wait(options)    // => "127.0.0.1"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /**
   * Give up after this long: the work in the reactor is interrupted and the
   * call throws `TimeoutError`. Overrides the operation's and the client's
   * default. `Infinity` waits for ever.
   */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The blocking methods: each returns the operation's value or throws its
 * error (rebuilt on this side of the thread boundary).
 *
 * @example
 * ```ts
 * import { type BlockingClient, ReactorThread } from "@crochet/platform-node"
 *
 * type Dns = ReactorThread.OperationsOf<typeof import("./dns.reactor.ts")>
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * const blocking: BlockingClient.Blocking<Dns> = dns.call
 * const address: string = blocking.lookup("example.com") // => "93.184.215.14"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Blocking<Ops extends Operations> = {
  readonly [K in keyof Ops]: (...args: Parameters<Ops[K]>) => Success<ReturnType<Ops[K]>>
}

/**
 * The starting methods: each returns a {@link ThreadResult} at once.
 *
 * @example
 * ```ts
 * import { type BlockingClient, ReactorThread } from "@crochet/platform-node"
 * import type { LookupError } from "./dns-errors.ts"
 *
 * type Dns = ReactorThread.OperationsOf<typeof import("./dns.reactor.ts")>
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * const starting: BlockingClient.Starting<Dns> = dns.start
 * const pending: BlockingClient.ThreadResult<string, LookupError> = starting.lookup("example.com") // at once
 * pending.wait() // => "93.184.215.14"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Starting<Ops extends Operations> = {
  readonly [K in keyof Ops]: (
    ...args: Parameters<Ops[K]>
  ) => ThreadResult<Success<ReturnType<Ops[K]>>, Failure<ReturnType<Ops[K]>>>
}

/**
 * A blocking client of a reactor in another thread.
 *
 * @example
 * ```ts
 * import { type BlockingClient, ReactorThread } from "@crochet/platform-node"
 *
 * type Dns = ReactorThread.OperationsOf<typeof import("./dns.reactor.ts")>
 * const dns: BlockingClient.Client<Dns> = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * dns.ready()                                             // optional: start the thread now
 * dns.call.lookup("example.com")                          // => "93.184.215.14" (blocks, default timeout)
 * dns.with({ timeout: "1 second" }).lookup("localhost")   // => "127.0.0.1" (blocks, this timeout)
 * const pending = dns.start.lookup("example.com")         // does not block
 * pending.wait({ timeout: "1 second" })                   // => "93.184.215.14"
 * dns.shutdown()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Client<Ops extends Operations> {
  /** Blocking calls with the default timeouts. */
  readonly call: Blocking<Ops>
  /** Calls that return a {@link ThreadResult} at once. */
  readonly start: Starting<Ops>
  /** Blocking calls with these options. */
  with(options: CallOptions): Blocking<Ops>
  /**
   * Blocks until the reactor is ready (for a reactor thread: started, module
   * loaded, layer built); throws its startup error. Calls do this themselves;
   * call it early to pay the start-up time up front.
   */
  ready(): void
  /**
   * Stops using the reactor. For a reactor thread: shuts it down (drain,
   * interrupt, finalizers) and blocks until it has stopped. Later calls throw
   * `ReactorStopped`. Idempotent.
   */
  shutdown(): void
  /**
   * `shutdown()`, for `using client = ReactorThread.connect(...)`: the client
   * stops when the block that declared it ends.
   */
  [Symbol.dispose](): void
}

/**
 * Work started in another thread's reactor (the synchronous counterpart of
 * core's `EventualResult`). `wait` blocks; a timeout there does NOT cancel
 * the work: wait again, `poll()` or `cancel()`.
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * const pending = dns.start.lookup("example.com") // returns at once; the lookup runs in the reactor thread
 * try {
 *   pending.wait({ timeout: "1 second" })         // => "93.184.215.14"
 * } catch {
 *   pending.cancel() // a timeout leaves the work running: cancel it (or wait again)
 * }
 * pending.poll()?._tag                            // => "Success" (undefined while it runs)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ThreadResult<A, E = never> {
  /**
   * Blocks until the result and returns it, or throws its failure. A timeout
   * throws `TimeoutError` and leaves the work running. Repeatable: every wait
   * that ends with the result gets the same value or the same error.
   */
  wait(options?: CallOptions): A
  /** The Exit if the work is done, `undefined` while it runs. Never blocks. */
  poll(): Exit.Exit<A, E> | undefined
  /** Interrupts the work in the reactor; waits then throw `Cancelled`. Does nothing once done. */
  cancel(): void
  /** The full failure Cause (as rebuilt on this side), or `undefined` while running or after a success. */
  originalFailure(): Cause.Cause<E> | undefined
}
