/**
 * Runs the packages' TypeScript sources instead of their build: preloaded with
 * `node --import ./scripts/sources.js` (the npm scripts put it in NODE_OPTIONS),
 * it resolves `@crochet/core`, `@crochet/core/Reactor`… to `packages/<name>/src/*.ts`,
 * by the same rules as the packages' `exports` (`internal/*` stays private).
 * Worker threads run the preload too, and it puts itself in NODE_OPTIONS by its
 * absolute path, so child processes started from any directory see the same
 * sources. Published packages carry no trace of this: their `exports` point at
 * `dist/` only. Plain JavaScript, so that a Node without type stripping (npm's
 * own, when it runs with these NODE_OPTIONS) loads it too, and does nothing.
 */
import { readFileSync } from "node:fs"
import * as Module from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const self = import.meta.url

/** Package name → its directory, from the root package.json's workspaces under packages/. */
const packages = new Map()
for (const workspace of JSON.parse(readFileSync(`${root}package.json`, "utf8")).workspaces) {
  if (!workspace.startsWith("packages/")) continue
  packages.set(JSON.parse(readFileSync(`${root}${workspace}/package.json`, "utf8")).name, `${root}${workspace}/`)
}

/**
 * The source file of `@crochet/x[/Module]`, or undefined to leave it to Node (and its exports rules).
 * @param {string} specifier
 * @returns {string | undefined}
 */
const sourceOf = (specifier) => {
  if (!specifier.startsWith("@crochet/")) return undefined
  const slash = specifier.indexOf("/", "@crochet/".length)
  const dir = packages.get(slash === -1 ? specifier : specifier.slice(0, slash))
  if (dir === undefined) return undefined
  const subpath = slash === -1 ? "index" : specifier.slice(slash + 1)
  if (subpath === "index" && slash !== -1) return undefined // "./index": null
  if (subpath === "package.json" || subpath.startsWith("internal/")) return undefined
  return `${dir}src/${subpath}.ts`
}

// Node 22.15 and later; an older Node (npm's own) has nothing of ours to resolve.
Module.registerHooks?.({
  resolve(specifier, context, nextResolve) {
    const source = sourceOf(specifier)
    return source === undefined
      ? nextResolve(specifier, context)
      : { url: pathToFileURL(source).href, shortCircuit: true }
  }
})

// Child processes inherit NODE_OPTIONS: name this module there by its absolute URL, once.
const options = (process.env.NODE_OPTIONS ?? "").split(/\s+/).filter((option) =>
  option !== "" && !/^--import=.*scripts\/sources\.js$/.test(option)
)
process.env.NODE_OPTIONS = [...options, `--import=${self}`].join(" ")
