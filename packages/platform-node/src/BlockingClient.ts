/**
 * The client that synchronous code uses to call a reactor in another thread
 * and block until the answer: `client.call.op(...)` waits, `client.start.op(...)`
 * returns a {@link ThreadResult} handle at once. Both bridges hand out this
 * client: `ReactorThread.connect` (a reactor in a worker thread) and
 * `MainThreadBridge.connect` (a worker calling the main thread's reactor).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"

/**
 * Operations by name: functions from plain data to an Effect.
 *
 * @example
 * ```ts
 * const operations = { lookup: (name: string) => Effect.succeed(name.length) } satisfies Operations
 * ```
 *
 * @since 0.1.0
 */
export type Operations = { readonly [name: string]: (...args: Array<any>) => Effect.Effect<any, any, any> }

/**
 * Options of one blocking call (`client.with(options)`, `result.wait(options)`).
 * Anything but an object (`wait(100)`), or a bad duration, throws core's
 * `InvalidArgument` at the call.
 *
 * @example
 * ```ts
 * dns.with({ timeout: "200 millis" }).lookup("example.com")
 * ```
 *
 * @since 0.1.0
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
 * const address: string = dns.call.lookup("example.com")
 * ```
 *
 * @since 0.1.0
 */
export type Blocking<Ops extends Operations> = {
  readonly [K in keyof Ops]: (...args: Parameters<Ops[K]>) => Effect.Success<ReturnType<Ops[K]>>
}

/**
 * The starting methods: each returns a {@link ThreadResult} at once.
 *
 * @example
 * ```ts
 * const pending: ThreadResult<string, LookupError> = dns.start.lookup("example.com")
 * ```
 *
 * @since 0.1.0
 */
export type Starting<Ops extends Operations> = {
  readonly [K in keyof Ops]: (
    ...args: Parameters<Ops[K]>
  ) => ThreadResult<Effect.Success<ReturnType<Ops[K]>>, Effect.Error<ReturnType<Ops[K]>>>
}

/**
 * A blocking client of a reactor in another thread.
 *
 * @example
 * ```ts
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(new URL("./dns.reactor.ts", import.meta.url))
 * dns.call.lookup("example.com")                           // blocks, default timeout
 * dns.with({ timeout: "1 second" }).lookup("example.com")   // blocks, this timeout
 * const pending = dns.start.lookup("example.com")          // does not block
 * pending.wait({ timeout: "1 second" })
 * ```
 *
 * @since 0.1.0
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
}

/**
 * Work started in another thread's reactor (the synchronous counterpart of
 * core's `EventualResult`). `wait` blocks; a timeout there does NOT cancel
 * the work: wait again, `poll()` or `cancel()`.
 *
 * @example
 * ```ts
 * const pending = dns.start.lookup("example.com")
 * pending.poll()                      // => undefined while it runs
 * try {
 *   pending.wait({ timeout: "10 millis" })
 * } catch {
 *   pending.cancel()
 * }
 * ```
 *
 * @since 0.1.0
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
