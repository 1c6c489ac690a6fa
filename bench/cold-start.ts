/**
 * Cold start of a blocking call into another thread, from the BUILT packages
 * (dist/, what users run): the time from before importing the library to the
 * first answer, each in a fresh process.
 *   npm run build && npx node bench/cold-start.ts    both, alternated, median of BENCH_COLD_STARTS (7) each, and the ratio
 *   npx node bench/cold-start.ts crochet             one run: import @crochet/platform-node/ReactorThread → connect → call.echo
 *   npx node bench/cold-start.ts synckit             one run: import synckit → createSyncFn → the first call
 * A single run prints its milliseconds. The child processes run without
 * NODE_OPTIONS, so `@crochet/*` resolves to dist/ even under `npm run bench`
 * (which preloads scripts/sources.js); the reactor module (echo.reactor.ts)
 * and synckit's worker are type-stripped alike.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const started = performance.now()
const mode = process.argv[2]
if (mode === "crochet") {
  const ReactorThread = await import("@crochet/platform-node/ReactorThread")
  const client = ReactorThread.connect<typeof import("./echo.reactor.ts")>(new URL("./echo.reactor.ts", import.meta.url))
  client.call.echo(1)
  console.log(performance.now() - started)
  client.shutdown()
} else if (mode === "synckit") {
  const { createSyncFn } = await import("synckit")
  const echo = createSyncFn(fileURLToPath(new URL("./synckit-worker.ts", import.meta.url)), { tsRunner: "node" })
  echo(1)
  console.log(performance.now() - started)
} else {
  const { NODE_OPTIONS: _sources, ...env } = process.env
  const once = (library: "crochet" | "synckit"): number =>
    Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), library], { encoding: "utf8", env }).trim())
  const starts = Number(process.env.BENCH_COLD_STARTS ?? 7)
  const times = { crochet: [] as Array<number>, synckit: [] as Array<number> }
  for (let i = 0; i < starts; i++) {
    times.crochet.push(once("crochet"))
    times.synckit.push(once("synckit"))
  }
  const median = (values: Array<number>): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const crochet = median(times.crochet)
  const synckit = median(times.synckit)
  console.log(
    `cold start from the built packages, fresh process each, median of ${starts} (alternated): ` +
      `ReactorThread (import @crochet/platform-node/ReactorThread → connect → first answer) ${crochet.toFixed(0)} ms; ` +
      `synckit (import → createSyncFn → first answer) ${synckit.toFixed(0)} ms = ${(crochet / synckit).toFixed(2)}× ` +
      "(target: ≤ 1.5×)"
  )
}
