/**
 * The reactor thread's entry module. First it arranges to say why it ends:
 * an uncaught error or an exit code goes on the lifeline to the supervisor
 * thread (`supervisor.ts`), which wakes blocked callers with that reason.
 *
 * Most of a reactor thread's start-up is compiling Effect's modules, so it
 * then turns on Node's on-disk compile cache for this thread only (the
 * directory of `NODE_COMPILE_CACHE`, else Node's default in the temporary
 * directory; `NODE_DISABLE_COMPILE_CACHE=1` turns it off): from the second
 * start on, Effect loads from V8's code cache. Then it loads the rest, so
 * that the cache applies to all of it.
 */
import * as NodeModule from "node:module"
import { type MessagePort, workerData } from "node:worker_threads"
import type * as Protocol from "./protocol.ts"

const lifeline = (workerData as { readonly lifeline: MessagePort }).lifeline
const say = (word: Protocol.LastWord): void => lifeline.postMessage(word)
process.on("uncaughtExceptionMonitor", (error: unknown) => {
  const { name, message } = error instanceof Error ? error : { name: "non-Error", message: String(error) }
  say({ type: "uncaught", name, message })
})
process.on("exit", (code) => say({ type: "exit", code }))

try {
  // Not every runtime has it (Deno, Bun); an optimization only, so a failure is ignored.
  NodeModule.enableCompileCache?.()
} catch {
  // run without the cache
}
await import("./reactorMain.ts")
