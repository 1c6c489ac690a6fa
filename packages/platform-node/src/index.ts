/**
 * @crochet/platform-node: Node.js for Crochet for Effect — blocking calls into
 * a reactor across worker threads, and process lifecycle for reactors.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ReactorThread from "./ReactorThread.ts"

/** @since 0.1.0 */
export * as BlockingClient from "./BlockingClient.ts"

/** @since 0.1.0 */
export { NotCloneable, ReactorThreadStartFailed, UnknownOperation, WrongThread } from "./Errors.ts"

/** @since 0.1.0 */
export * as MainThreadBridge from "./MainThreadBridge.ts"

/** @since 0.1.0 */
export * as NodeReactor from "./NodeReactor.ts"
