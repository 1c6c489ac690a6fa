/**
 * The glossary rule of examples/eslint-rule over 200 generated files, run by
 * ESLint itself in a fresh process per run (so each pays its cold start), from
 * the built packages: `npm run build && node bench/eslint.ts` (or `npm run bench`).
 * Modes, interleaved, median of the rounds:
 *   none         the rule without any bridge (returns no finding): ESLint's own time
 *   synckit      synckit's createSyncFn, its worker doing the same check in plain TypeScript
 *   crochet      ReactorThread.connect(..., { eager: true }), the Effect layer in the reactor thread
 *   low-latency  the same with lowLatency: true
 */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const files = Number(process.env.BENCH_FILES ?? 200)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const modes = ["none", "synckit", "crochet", "low-latency"] as const

/** 200 files of 20 string literals each, some with glossary terms. */
const generate = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "crochet-eslint-bench-"))
  mkdirSync(join(dir, "src"))
  const phrases = [
    "add it to the whitelist",
    "a plain sentence",
    "run a sanity check",
    "the e-mail field",
    "nothing to see"
  ]
  for (let file = 0; file < files; file++) {
    const lines = Array.from(
      { length: 20 },
      (_, i) => `export const s${i} = ${JSON.stringify(`${phrases[(file + i) % phrases.length]} #${i}`)}\n`
    )
    writeFileSync(join(dir, "src", `f${file}.js`), `// generated\n${lines.join("")}`)
  }
  return dir
}

interface Run {
  readonly files: number
  readonly problems: number
  readonly calls: number
  readonly wallMillis: number
  readonly coldStartMillis: number
  readonly firstCallMillis: number
  readonly perCallMicros: number
}

// Without NODE_OPTIONS, `@crochet/*` resolves to the built packages (dist/, what users run) even
// under `npm run bench`, which preloads scripts/sources.js: from the sources, the reactor
// thread would type-strip every module of core and platform-node that it loads. (Run `npm run build` first.)
const { NODE_OPTIONS: _sources, ...env } = process.env

const run = async (dir: string, mode: string): Promise<Run> => {
  const script = fileURLToPath(new URL("./eslint-run.ts", import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [script, dir, mode], { timeout: 120_000, env })
  return JSON.parse(stdout)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const dir = generate()
try {
  const runs = new Map<string, Array<Run>>(modes.map((mode) => [mode, []]))
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) runs.get(mode)!.push(await run(dir, mode))
  }
  const base = median(runs.get("none")!.map((r) => r.wallMillis))
  console.log(
    `\nESLint, glossary rule, ${files} files (${
      runs.get("none")![0]!.calls
    } string literals), median of ${rounds} fresh processes`
  )
  console.log(
    "| bridge | wall time | vs no bridge | cold start (connect → first answer) | first call blocks | per call |"
  )
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const mode of modes) {
    const all = runs.get(mode)!
    const problems = new Set(all.map((r) => r.problems))
    if (mode !== "none" && (problems.size !== 1 || all[0]!.problems === 0)) {
      throw new Error(`${mode}: wrong findings ${[...problems]}`)
    }
    const wall = median(all.map((r) => r.wallMillis))
    const row = mode === "none"
      ? [mode, `${wall.toFixed(0)} ms`, "1.00×", "–", "–", "–"]
      : [
        mode,
        `${wall.toFixed(0)} ms`,
        `${(wall / base).toFixed(2)}×`,
        `${median(all.map((r) => r.coldStartMillis)).toFixed(0)} ms`,
        `${median(all.map((r) => r.firstCallMillis)).toFixed(0)} ms`,
        `${median(all.map((r) => r.perCallMicros)).toFixed(1)} µs`
      ]
    console.log(`| ${row.join(" | ")} |`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
