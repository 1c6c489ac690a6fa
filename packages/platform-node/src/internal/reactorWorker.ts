/**
 * The reactor thread's entry module. Most of a reactor thread's start-up is
 * compiling Effect's modules, so it first turns on Node's on-disk compile
 * cache for this thread only (the directory of `NODE_COMPILE_CACHE`, else
 * Node's default in the temporary directory; `NODE_DISABLE_COMPILE_CACHE=1`
 * turns it off): from the second start on, Effect loads from V8's code cache.
 * Then it loads the rest, so that the cache applies to all of it.
 */
import * as NodeModule from "node:module"

try {
  // Not every runtime has it (Deno, Bun); an optimization only, so a failure is ignored.
  NodeModule.enableCompileCache?.()
} catch {
  // run without the cache
}
await import("./reactorMain.ts")
