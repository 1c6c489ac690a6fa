/**
 * The reactor thread's entry module. First it arranges to say why it ends,
 * should it end unasked (an uncaught error, `process.exit`): it tells its
 * callers itself, through the shared state and its port, so that a caller
 * blocked while it starts learns of it too, before any supervisor thread
 * watches it (see `supervisor.ts`, which covers the deaths that run no code,
 * through `workerData.lifeline`: a port this thread holds and never uses,
 * which closes when the thread ends). An uncaught error goes along whole
 * (class, message, stack, fields: `codec.ts`), so that the released callers
 * get it in their `ReactorStopped`'s `cause`.
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
import type { encodeThrown } from "./codec.ts"
import * as Protocol from "./protocol.ts"

const { buffer, module, port } = workerData as {
  readonly buffer: SharedArrayBuffer
  readonly module: string
  readonly port: MessagePort
} // Before any code of the user's runs: a blocking call from this thread would deadlock it.
;(globalThis as Record<PropertyKey, unknown>)[Protocol.reactorThreadMark] = true
const state = new Int32Array(buffer)
/** The first uncaught error: the one the thread dies of. */
let uncaught: { readonly error: unknown } | undefined
/** `codec.ts`'s encoder, once loaded. */
let encode: typeof encodeThrown | undefined
process.on("uncaughtExceptionMonitor", (error: unknown) => {
  uncaught ??= { error }
})
process.on("exit", (code) => {
  const status = Atomics.load(state, Protocol.STATE)
  if (status !== Protocol.Starting && status !== Protocol.Ready) return // stopped on purpose, or failed to start
  const info: Protocol.DiedInfo = {
    type: "died",
    reason: uncaught !== undefined
      ? `uncaught ${Protocol.describeThrown(uncaught.error)}`
      : `exit code ${code}${code === 1 ? "" : " (process.exit in the reactor thread?)"}`,
    error: uncaught === undefined || encode === undefined ? undefined : encode(uncaught.error)
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
// The reactor module's own imports load alongside the reactor's (Effect, core): reactorMain's
// import of it then finds it loaded or loading. (Its failure is reported by reactorMain.)
import(module).catch(() => {})
// Part of reactorMain's graph: loaded with it. (An error thrown before, while Effect still loads,
// is reported by its name and message only.)
void import("./codec.ts").then((codec) => encode = codec.encodeThrown)
await import("./reactorMain.ts")
