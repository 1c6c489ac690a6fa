/**
 * A worker thread with synchronous code that renders through the main
 * thread's reactor (docs/threads.md, section 2): it blocks on each call,
 * posts what it got, and ends.
 */
import { MainThreadBridge } from "@crochet/platform-node"
import { parentPort, workerData } from "node:worker_threads"
import type { operations } from "./render.ts"

const main = MainThreadBridge.connect<typeof operations>(workerData.endpoint, { timeout: "5 seconds" })
const pages = ["/home", "/about"].map((page) => main.call.render(page)) // blocks, runs in the main reactor
parentPort!.postMessage(pages)
main.shutdown()
