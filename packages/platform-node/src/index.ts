/**
 * @crochet/platform-node: Node.js for Crochet for Effect — blocking calls into
 * a reactor across worker threads, and process lifecycle for reactors.
 * The examples call `./dns.reactor.ts` and serve `./render.ts`: the modules
 * shown in the overviews of `ReactorThread` and `MainThreadBridge`.
 *
 * @since 0.1.0
 */

/**
 * A reactor in a background thread, called synchronously.
 *
 * @example
 * ```ts
 * import { ReactorThread } from "@crochet/platform-node"
 *
 * const dns = ReactorThread.connect<typeof import("./dns.reactor.ts")>(
 *   new URL("./dns.reactor.ts", import.meta.url)
 * )
 * dns.call.lookup("localhost") // => "127.0.0.1" (blocks until the reactor thread answers)
 * ```
 *
 * @since 0.1.0
 */
export * as ReactorThread from "./ReactorThread.ts"

/**
 * The types of the blocking client that both bridges hand out.
 *
 * @example
 * ```ts
 * import type { BlockingClient } from "@crochet/platform-node"
 * import type { operations } from "./render.ts"
 *
 * const renderAll = (client: BlockingClient.Client<typeof operations>, pages: ReadonlyArray<string>) =>
 *   pages.map((page) => client.call.render(page)) // each call blocks until the answer
 * ```
 *
 * @since 0.1.0
 */
export type * as BlockingClient from "./BlockingClient.ts"

export {
  /**
   * A blocking call on the main thread under NodeReactor that was given up at its `blockingLimit`,
   * so that a signal can be handled (`Errors.BlockedTooLong`).
   *
   * @since 0.1.0
   * @category errors
   */
  BlockedTooLong,
  /**
   * An argument or result that structured clone refuses, so it cannot cross threads (`Errors.NotCloneable`).
   *
   * @since 0.1.0
   * @category errors
   */
  NotCloneable,
  /**
   * The reactor thread could not start: its module failed to load or its layer to build (`Errors.ReactorThreadStartFailed`).
   *
   * @since 0.1.0
   * @category errors
   */
  ReactorThreadStartFailed,
  /**
   * A call of an operation the reactor does not define (`Errors.UnknownOperation`).
   *
   * @since 0.1.0
   * @category errors
   */
  UnknownOperation,
  /**
   * A blocking call that would deadlock, or a reactor object used from another thread (`Errors.WrongThread`).
   *
   * @since 0.1.0
   * @category errors
   */
  WrongThread
} from "./Errors.ts"

/**
 * Worker threads calling the main thread's reactor. The functions of
 * `@crochet/platform-node/MainThreadBridge`, whose module (with core's reactor
 * and Effect's runtime) loads on first use: importing this entry for
 * `ReactorThread` alone costs no more than importing that module.
 *
 * @example
 * ```ts
 * import { Reactor } from "@crochet/core"
 * import { MainThreadBridge } from "@crochet/platform-node"
 * import { Worker } from "node:worker_threads"
 * import { operations, TemplatesLive } from "./render.ts"
 *
 * const bridge = MainThreadBridge.serve(Reactor.setup(TemplatesLive), operations)
 * const endpoint = bridge.endpoint()
 * const worker = new Worker(new URL("./render-worker.ts", import.meta.url), {
 *   workerData: { endpoint },
 *   transferList: [endpoint.port]
 * })
 * worker.on("message", (pages) => console.log(pages)) // [ '<h1>/home</h1>', '<h1>/about</h1>' ]
 * ```
 *
 * @since 0.1.0
 */
export * as MainThreadBridge from "./internal/lazyMainThreadBridge.ts"

/**
 * Core's `Reactor.setup` tied to Node's process lifecycle. The functions of
 * `@crochet/platform-node/NodeReactor`, whose module (with core's reactor and
 * Effect's runtime) loads on first use.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { NodeReactor } from "@crochet/platform-node"
 *
 * const reactor = NodeReactor.setup(Layer.empty)
 * console.log(await reactor.waitFor(Effect.succeed("done"))) // done
 * // nothing left to do: the reactor shuts down and the process exits (SIGINT/SIGTERM would too)
 * ```
 *
 * @since 0.1.0
 */
export * as NodeReactor from "./internal/lazyNodeReactor.ts"
