/**
 * eslint-plugin-prettier 5 as published (synckit) against its port to ReactorThread, each
 * ESLint run in a fresh process, from the built packages:
 * `npm run build && node bench/eslint-prettier.ts` (or `npm run bench`).
 * The files: this repository's own sources (TypeScript with its types stripped, as `.js`),
 * topped up to BENCH_FILES (300) with ESLint's own `lib/` sources, in a temporary directory.
 * Modes (see eslint-prettier/run.ts), in rotating order, BENCH_ROUNDS (5) rounds:
 *   synckit        the plugin as published: synckit's worker, started at the rule's first call
 *   crochet        the port: ReactorThread.connect in that same place (eslint-prettier/format.reactor.mjs)
 *   floor          synckit's worker running the same format through Effect: Effect's own cost in a worker
 *   synckit-early  as synckit, the worker started when the plugin loads
 *   crochet-early  as crochet, connected when the plugin loads (docs/plugins.md's advice)
 * Every run must give the same reports (a digest of them), or the bench fails.
 */
import { execFile, execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { stripTypeScriptTypes } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const count = Number(process.env.BENCH_FILES ?? 300)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const modes = ["synckit", "crochet", "floor", "synckit-early", "crochet-early"] as const
type Mode = (typeof modes)[number]

const root = fileURLToPath(new URL("..", import.meta.url))

/** The files to lint, as `.js`: this repository's sources, then ESLint's. */
const copyFiles = (): { readonly dir: string; readonly own: number } => {
  const dir = mkdtempSync(join(tmpdir(), "crochet-eslint-prettier-"))
  const own = execFileSync("git", ["ls-files", "*.ts", "*.js", "*.mjs"], { cwd: root, encoding: "utf8" })
    .split("\n").filter((file) => file !== "").map((file) => join(root, file))
  const eslintLib = join(root, "node_modules/eslint/lib")
  const eslint = readdirSync(eslintLib, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".js")).sort().map((file) => join(eslintLib, file))
  const files = [...own, ...eslint].slice(0, count)
  files.forEach((file, i) => {
    const source = readFileSync(file, "utf8")
    // (Not under node_modules/, which ESLint skips.)
    const target = join(dir, "src", file.slice(root.length).replace("node_modules/", "").replace(/\.(ts|mjs)$/, ".js"))
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, file.endsWith(".ts") ? stripTypeScriptTypes(source) : source)
    if (i === files.length - 1 && files.length < count) throw new Error(`only ${files.length} files to lint`)
  })
  return { dir, own: Math.min(own.length, count) }
}

interface Run {
  readonly files: number
  readonly problems: number
  readonly digest: string
  readonly calls: number
  readonly firstCallMillis: number
  readonly coldStartMillis: number
  readonly perCallMicros: number
  /** Measured here: from spawning the process to its exit. */
  readonly wholeMillis: number
}

// Without NODE_OPTIONS, `@crochet/*` resolves to the built packages (dist/, what users run) even under
// `npm run bench`, which preloads scripts/sources.js. (Run `npm run build` first.)
const { NODE_OPTIONS: _sources, ...env } = process.env
const script = fileURLToPath(new URL("./eslint-prettier/run.ts", import.meta.url))

const run = async (dir: string, mode: Mode): Promise<Run> => {
  const started = performance.now()
  const { stdout } = await promisify(execFile)(process.execPath, [script, dir, mode], { timeout: 300_000, env })
  return { ...JSON.parse(stdout), wholeMillis: performance.now() - started }
}

const median = (values: ReadonlyArray<number>): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const { dir, own } = copyFiles()
try {
  const runs: Record<Mode, Array<Run>> = {
    synckit: [],
    crochet: [],
    floor: [],
    "synckit-early": [],
    "crochet-early": []
  }
  for (let round = 0; round < rounds; round++) {
    // Each round in a different order, so that no mode always follows the same one.
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(round + i) % modes.length]!
      runs[mode].push(await run(dir, mode))
    }
  }
  const reference = runs.synckit[0]!
  for (const mode of modes) {
    for (const r of runs[mode]) {
      if (r.digest !== reference.digest || r.files !== reference.files || r.problems === 0) {
        throw new Error(`${mode}: other reports than synckit's (${r.problems} in ${r.files} files, digest ${r.digest})`)
      }
    }
  }
  /** The median of each round's ratio: a slow stretch of the machine slows a whole round, not one side. */
  const ratio = (mode: Mode, peer: Mode, of: (r: Run) => number) =>
    median(runs[mode].map((r, round) => of(r) / of(runs[peer][round]!)))
  const cell = (mode: Mode, of: (r: Run) => number, unit: string, peers: ReadonlyArray<Mode>) =>
    `${median(runs[mode].map(of)).toFixed(unit === "µs" ? 0 : 0)} ${unit}` +
    peers.filter((peer) => peer !== mode).map((peer) => ` (${ratio(mode, peer, of).toFixed(2)}×)`).join("")
  console.log(
    `\nESLint + eslint-plugin-prettier 5, ${reference.files} files (${own} of this repository's sources, ` +
      `${reference.files - own} of ESLint's), ${reference.problems} reports, identical in every run; ` +
      `fresh process each, ${rounds} rounds in rotating order: medians (× the peer: median of each round's ratio)`
  )
  console.log("| mode | first call blocks | cold start (bridge made → first answer) | whole process | per call |")
  console.log("|---|---:|---:|---:|---:|")
  const row = (mode: Mode, peers: ReadonlyArray<Mode>) =>
    console.log(
      `| ${mode} | ${cell(mode, (r) => r.firstCallMillis, "ms", peers)} | ${
        cell(mode, (r) => r.coldStartMillis, "ms", peers)
      } | ${cell(mode, (r) => r.wholeMillis, "ms", peers)} | ${cell(mode, (r) => r.perCallMicros, "µs", peers)} |`
    )
  row("synckit", [])
  row("floor", ["synckit"])
  row("crochet", ["synckit", "floor"])
  row("synckit-early", [])
  row("crochet-early", ["synckit-early"])
} finally {
  rmSync(dir, { recursive: true, force: true })
}
