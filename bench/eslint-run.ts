/**
 * One ESLint run for bench/eslint.ts, in a fresh process: lints the generated
 * files with the glossary rule over one bridge, and prints its timings as JSON.
 *   npx node bench/eslint-run.ts <dir> <none|synckit|crochet|low-latency>
 */
import { ReactorThread } from "@crochet/platform-node"
import { ESLint } from "eslint"
import { fileURLToPath } from "node:url"
import { createSyncFn } from "synckit"
import { makePlugin } from "../examples/eslint-rule/plugin.ts"
import type { Finding } from "../examples/eslint-rule/terms.ts"

const [dir, mode] = process.argv.slice(2) as [string, string]
const reactorModule = new URL("../examples/eslint-rule/glossary.reactor.ts", import.meta.url)

const bridge = (): (text: string) => ReadonlyArray<Finding> => {
  switch (mode) {
    case "none":
      return () => []
    case "synckit":
      return createSyncFn(fileURLToPath(new URL("./eslint-synckit-worker.ts", import.meta.url)), { tsRunner: "node" })
    case "crochet":
    case "low-latency": {
      const client = ReactorThread.connect<typeof import("../examples/eslint-rule/glossary.reactor.ts")>(
        reactorModule,
        { eager: true, lowLatency: mode === "low-latency" }
      )
      return (text) => client.call.check(text)
    }
    default:
      throw new Error(`unknown mode ${mode}`)
  }
}

const connectedAt = performance.now()
const check = bridge()
let calls = 0
let callMillis = 0
let firstAnswerAt = 0
let firstCallMillis = 0
const plugin = makePlugin((text) => {
  const start = performance.now()
  const findings = check(text)
  const end = performance.now()
  if (calls++ === 0) {
    firstAnswerAt = end
    firstCallMillis = end - start
  } else {
    callMillis += end - start
  }
  return findings
})

const eslint = new ESLint({
  cwd: dir,
  overrideConfigFile: true,
  overrideConfig: [{ files: ["**/*.js"], plugins: { glossary: plugin }, rules: { "glossary/terms": "error" } }]
})
const results = await eslint.lintFiles(["."])
const doneAt = performance.now()
console.log(JSON.stringify({
  files: results.length,
  problems: results.reduce((sum, result) => sum + result.errorCount, 0),
  calls,
  /** From process start to the report. */
  wallMillis: doneAt,
  /** From connect (plugin load) to the first answer. */
  coldStartMillis: firstAnswerAt - connectedAt,
  /** How long the first call blocked. */
  firstCallMillis,
  /** The other calls, on average. */
  perCallMicros: calls > 1 ? (callMillis / (calls - 1)) * 1000 : 0
}))
