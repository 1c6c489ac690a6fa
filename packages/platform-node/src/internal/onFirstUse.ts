/**
 * Modules of this package loaded on first use, with a synchronous `require`
 * (Node ≥ 22.12 keeps one module cache for `import` and `require`, so this is
 * the very module an `import` gets). The package's main entry uses it so that
 * importing `{ ReactorThread }` from it does not load what `NodeReactor` and
 * `MainThreadBridge` need: all of core and Effect's runtime, about 150 ms of
 * a cold start that a calling thread has no use for.
 */
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

/**
 * A loader of the module at `path` (relative to `src/`, without extension):
 * `.ts` when running from the sources, `.js` from the built package.
 */
export const onFirstUse = <M>(path: string): () => M => {
  let module: M | undefined
  return () => module ??= require(`../${path}${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`) as M
}
