/**
 * Cold start of a blocking call into another thread, from the BUILT packages
 * (dist/, what users run): the time from before importing the library to the
 * first answer, each in a fresh process.
 *   npm run build && npx node bench/cold-start.ts   all three, alternated, BENCH_COLD_STARTS (15) rounds: medians, and the median of each round's ratio
 *   npx node bench/cold-start.ts barrel             one run: import { ReactorThread } from "@crochet/platform-node" (the README's) → connect → call.echo
 *   npx node bench/cold-start.ts deep               one run: the same through import "@crochet/platform-node/ReactorThread"
 *   npx node bench/cold-start.ts synckit            one run: import synckit → createSyncFn → the first call
 * A single run prints its milliseconds. The child processes run without
 * NODE_OPTIONS, so `@crochet/*` resolves to dist/ even under `npm run bench`
 * (which preloads scripts/sources.js); the reactor module (echo.reactor.ts)
 * and synckit's worker are type-stripped alike.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const modes = ["barrel", "deep", "synckit"] as const
type Mode = (typeof modes)[number]

const started = performance.now()
const mode = process.argv[2]
if (mode === "barrel" || mode === "deep") {
  const ReactorThread = mode === "barrel"
    ? (await import("@crochet/platform-node")).ReactorThread
    : await import("@crochet/platform-node/ReactorThread")
  const client = ReactorThread.connect<typeof import("./echo.reactor.ts")>(
    new URL("./echo.reactor.ts", import.meta.url)
  )
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
  const once = (run: Mode): number =>
    Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), run], { encoding: "utf8", env }).trim())
  const starts = Number(process.env.BENCH_COLD_STARTS ?? 15)
  const times: Record<Mode, Array<number>> = { barrel: [], deep: [], synckit: [] }
  for (let i = 0; i < starts; i++) {
    // Each round in a different order, so that no mode always follows the same one.
    for (let j = 0; j < modes.length; j++) {
      const run = modes[(i + j) % modes.length]!
      times[run].push(once(run))
    }
  }
  const median = (values: ReadonlyArray<number>): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  // Each round's own ratio, then their median: a slow stretch of the machine slows a whole round, not one side.
  const ratio = (mode: Mode) => median(times[mode].map((millis, round) => millis / times.synckit[round]!))
  const row = (label: string, mode: Mode) =>
    `${label} ${median(times[mode]).toFixed(0)} ms = ${ratio(mode).toFixed(2)}×`
  console.log(
    `cold start from the built packages (import → connect → first answer), fresh process each, ${starts} rounds ` +
      `(alternated; medians, and the median of each round's ratio): synckit ${median(times.synckit).toFixed(0)} ms; ` +
      `${row("ReactorThread, import { ReactorThread } from \"@crochet/platform-node\"", "barrel")}; ` +
      `${row("ReactorThread, import \"@crochet/platform-node/ReactorThread\"", "deep")} (target: ≤ 1.2× each)`
  )
}
