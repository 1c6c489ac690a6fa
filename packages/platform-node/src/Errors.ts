/**
 * The errors of the Node bridges, besides core's (`ReactorStopped`,
 * `TimeoutError`, `Cancelled`, `InvalidArgument`). Each is a
 * `Data.TaggedError` whose message says what to do.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * An argument (or a result) cannot cross a thread: structured clone refused it
 * (a function, a socket, a class instance holding one). Thrown at the call
 * site before anything was sent; only that call fails.
 *
 * @example
 * ```ts
 * try {
 *   dns.call.lookup(() => "not data" as any)
 * } catch (error) {
 *   error._tag      // => "NotCloneable"
 *   error.argument  // => 0
 * }
 * ```
 *
 * @since 0.1.0
 */
export class NotCloneable extends Data.TaggedError("NotCloneable")<{
  readonly message: string
  /** The operation called. */
  readonly operation: string
  /** The index of the argument that could not be cloned, or `"result"` for the operation's result. */
  readonly argument: number | "result"
}> {}

/**
 * The operation is not one the reactor defines (a typo, or a client typed
 * against another module). `known` lists the ones it has.
 *
 * @example
 * ```ts
 * try {
 *   (dns.call as any).lokup("x")
 * } catch (error) {
 *   error._tag   // => "UnknownOperation"
 *   error.known  // => ["lookup"]
 * }
 * ```
 *
 * @since 0.1.0
 */
export class UnknownOperation extends Data.TaggedError("UnknownOperation")<{
  readonly message: string
  readonly operation: string
  readonly known: ReadonlyArray<string>
}> {}

/**
 * A blocking call was made on a thread where it would deadlock (inside the
 * reactor thread it waits for), or a reactor object was used from a thread
 * other than the one that made it.
 *
 * @example
 * ```ts
 * // inside an operation of dns.reactor.ts:
 * dns.call.lookup("x") // throws WrongThread: wait() must not be run in the reactor thread
 * ```
 *
 * @since 0.1.0
 */
export class WrongThread extends Data.TaggedError("WrongThread")<{
  readonly message: string
}> {}

/**
 * The reactor thread could not start: its module could not be loaded, does
 * not export a `ReactorThread.define(...)`, or its layer failed to build.
 * `error` holds the original error as it came across. The next call tries to
 * start the thread again.
 *
 * @example
 * ```ts
 * const broken = ReactorThread.connect(new URL("./missing.reactor.ts", import.meta.url))
 * try {
 *   broken.call.anything()
 * } catch (error) {
 *   error._tag // => "ReactorThreadStartFailed"
 * }
 * ```
 *
 * @since 0.1.0
 */
export class ReactorThreadStartFailed extends Data.TaggedError("ReactorThreadStartFailed")<{
  readonly message: string
  /** The reactor module's URL. */
  readonly module: string
  /** The error that stopped the start, rebuilt on this side of the thread boundary. */
  readonly error: unknown
}> {}
