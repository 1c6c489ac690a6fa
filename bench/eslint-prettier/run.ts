/**
 * One ESLint run for bench/eslint-prettier.ts, in a fresh process: lints the files in <dir>
 * with eslint-plugin-prettier's rule over one bridge, and prints its timings and a digest of
 * its reports as JSON.
 *   npx node bench/eslint-prettier/run.ts <dir> <synckit|crochet|floor|synckit-early|crochet-early>
 * The plugin's own code is loaded with only the line that makes its bridge replaced (and, for
 * `-early`, that line moved to where the plugin loads), wrapped to time the calls: the same
 * wrapper in every mode.
 */
import { ESLint } from "eslint"
import { createHash } from "node:crypto"
import { createRequire, registerHooks } from "node:module"
import { relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const [dir, mode] = process.argv.slice(2) as [string, string]
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

/** The line of eslint-plugin-prettier 5 that makes its synchronous format function, at the rule's first call. */
const original = "require('synckit').createSyncFn(require.resolve('./worker.mjs'))"
const bridges: Record<string, string> = {
  synckit: original,
  // The port, as docs/plugins.md has it: connect to the reactor module instead of createSyncFn, call .call.format.
  crochet: `require("@crochet/platform-node/ReactorThread").connect(${
    JSON.stringify(pathToFileURL(here("./format.reactor.mjs")).href)
  }).call.format`,
  floor: `require('synckit').createSyncFn(${JSON.stringify(here("./floor-worker.mjs"))})`
}
const early = mode.endsWith("-early")
const bridge = bridges[mode.replace(/-early$/, "")]
if (bridge === undefined) throw new Error(`unknown mode ${mode}`)

/** Where the plugin keeps that function: made when the plugin loads, for `-early`. */
const declaration = "let prettierFormat;"
const require = createRequire(import.meta.url)
const pluginFile = pathToFileURL(require.resolve("eslint-plugin-prettier")).href
registerHooks({
  load(url, context, nextLoad) {
    const loaded = nextLoad(url, context)
    if (url !== pluginFile) return loaded
    const source = String(loaded.source)
    if (!source.includes(original) || !source.includes(declaration)) {
      throw new Error(`eslint-plugin-prettier no longer has: ${original} / ${declaration}`)
    }
    const timed = `globalThis.timedBridge(() => ${bridge})`
    return {
      ...loaded,
      source: early
        ? source.replace(declaration, `let prettierFormat = ${timed};`)
        : source.replace(original, timed)
    }
  }
})

let calls = 0
let callMillis = 0
let firstCallMillis = 0
let coldStartMillis = 0
;(globalThis as any).timedBridge = (make: () => Function) => {
  const made = performance.now()
  const format = make()
  ;(globalThis as any).makeMillis = performance.now() - made
  return (...args: Array<unknown>) => {
    const start = performance.now()
    try {
      return format(...args)
    } finally {
      const end = performance.now()
      if (calls++ === 0) {
        // Made in the rule's first call (the plugin's own place): that call blocked from there.
        firstCallMillis = end - (early ? start : made)
        coldStartMillis = end - made
      } else {
        callMillis += end - start
      }
    }
  }
}

const plugin = require("eslint-plugin-prettier")
const eslint = new ESLint({
  cwd: dir,
  overrideConfigFile: true,
  overrideConfig: [{ files: ["**/*.js"], plugins: { prettier: plugin }, rules: { "prettier/prettier": "error" } }]
})
const results = await eslint.lintFiles(["."])
const reports = results.flatMap((result) =>
  result.messages.map((m) => `${relative(dir, result.filePath)}:${m.line}:${m.column} ${m.ruleId} ${m.message}`)
)
console.log(JSON.stringify({
  files: results.length,
  problems: reports.length,
  /** The reports, file by file in ESLint's order: the same digest means the same reports. */
  digest: createHash("sha256").update(reports.join("\n")).digest("hex").slice(0, 16),
  calls,
  makeMillis: (globalThis as any).makeMillis,
  /** How long the rule's first call blocked (in the plugin's own place, that includes making the bridge). */
  firstCallMillis,
  /** From making the bridge (createSyncFn, connect) to its first answer. */
  coldStartMillis,
  /** The other calls, on average. */
  perCallMicros: calls > 1 ? (callMillis / (calls - 1)) * 1000 : 0
}))
