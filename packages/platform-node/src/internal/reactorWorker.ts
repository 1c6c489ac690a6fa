/**
 * The reactor thread's entry module. First it arranges to say why it ends,
 * should it end unasked (an uncaught error, `process.exit`): it tells its
 * callers itself, through the shared state and its port, so that a caller
 * blocked while it starts learns of it too, before any supervisor thread
 * watches it (see `supervisor.ts`, which covers the deaths that run no code,
 * through `workerData.lifeline`: a port this thread holds and never uses,
 * which closes when the thread ends).
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
import * as Protocol from "./protocol.ts"

const { port, buffer } = workerData as { readonly port: MessagePort; readonly buffer: SharedArrayBuffer }
const state = new Int32Array(buffer)
let uncaught: string | undefined
process.on("uncaughtExceptionMonitor", (error: unknown) => {
  uncaught ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error)
})
process.on("exit", (code) => {
  const status = Atomics.load(state, Protocol.STATE)
  if (status !== Protocol.Starting && status !== Protocol.Ready) return // stopped on purpose, or failed to start
  const info: Protocol.DiedInfo = {
    type: "died",
    reason: uncaught !== undefined
      ? `uncaught ${uncaught}`
      : `exit code ${code}${code === 1 ? "" : " (process.exit in the reactor thread?)"}`
  }
  port.postMessage(info)
  Protocol.setState(state, Protocol.Dead)
})

try {
  // Not every runtime has it (Deno, Bun); an optimization only, so a failure is ignored.
  NodeModule.enableCompileCache?.()
} catch {
  // run without the cache
}
await import("./reactorMain.ts")
