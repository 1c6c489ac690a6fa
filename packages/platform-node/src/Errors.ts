/**
 * The errors of the Node bridges, besides core's (`ReactorStopped`,
 * `TimeoutError`, `Cancelled`, `InvalidArgument`). Each is a
 * `Data.TaggedError` whose message says what to do.
 *
 * The examples call `./dns.reactor.ts`, the reactor module shown in
 * `ReactorThread`'s overview.
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
 * import { NotCloneable, ReactorThread } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * try {
 *   dns.call.lookup((() => "not data") as any)
 * } catch (error) {
 *   if (error instanceof NotCloneable) {
 *     error.operation // => "lookup"
 *     error.argument  // => 0
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
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
 * import { ReactorThread, UnknownOperation } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * try {
 *   (dns.call as any).lokup("example.com")
 * } catch (error) {
 *   if (error instanceof UnknownOperation) {
 *     error.operation // => "lokup"
 *     error.known     // => ["lookup"]
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
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
 * import { Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { MainThreadBridge, WrongThread } from "@crochet/platform-node"
 *
 * // This thread's reactor serves the bridge: a blocking call into it from here would deadlock.
 * const bridge = MainThreadBridge.serve(Reactor.setup(Layer.empty), {})
 * try {
 *   MainThreadBridge.connect(bridge.endpoint())
 * } catch (error) {
 *   error instanceof WrongThread // => true
 * }
 * bridge.close()
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongThread extends Data.TaggedError("WrongThread")<{
  readonly message: string
}> {}

/**
 * The reactor thread could not start: its module could not be loaded, does
 * not export a `ReactorThread.define(...)`, or its layer failed to build.
 * `cause` holds the original error as it came across (as `cause` does in
 * core's `ReactorStartFailed`). The next call tries to start the thread again.
 *
 * @example
 * ```ts
 * import { ReactorThread, ReactorThreadStartFailed } from "@crochet/platform-node"
 *
 * const broken = ReactorThread.connect(new URL("./missing.reactor.ts", import.meta.url))
 * try {
 *   broken.ready() // or any call: each tries to start the thread
 * } catch (error) {
 *   error instanceof ReactorThreadStartFailed // => true
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ReactorThreadStartFailed extends Data.TaggedError("ReactorThreadStartFailed")<{
  readonly message: string
  /** The reactor module's URL. */
  readonly module: string
  /** The error that stopped the start, rebuilt on this side of the thread boundary. */
  readonly cause: unknown
}> {}

/**
 * A blocking call on the main thread under `NodeReactor` was given up because
 * the main thread had been blocked in such calls for `limit` ms in all since
 * its event loop last ran: NodeReactor's `blockingLimit` (default 10 s). A
 * blocked thread runs no signal handler, so the limit is what lets a
 * SIGINT/SIGTERM that came meanwhile be handled. A `call`'s work is
 * cancelled, as on its timeout (nobody could read its answer any more); the
 * work behind a `start(...)` handle goes on, and `wait()` can be called
 * again, as after its timeout. Later blocking calls fail at once with this
 * error until the event loop has run.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { BlockedTooLong, NodeReactor, ReactorThread } from "@crochet/platform-node"
 *
 * NodeReactor.setup(Layer.empty, { blockingLimit: "2 seconds" })
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * try {
 *   dns.call.lookup("example.com")
 * } catch (error) {
 *   if (error instanceof BlockedTooLong) {
 *     error.limit // => 2000
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BlockedTooLong extends Data.TaggedError("BlockedTooLong")<{
  readonly message: string
  /** NodeReactor's `blockingLimit`, in milliseconds. */
  readonly limit: number
}> {}
