/**
 * The bounds of NodeReactor's signal handling, measured on the child programs
 * of packages/platform-node/test/signals.test.ts, one child at a time:
 * `NODE_OPTIONS=--import=./scripts/sources.js npx node bench/signals.ts` (BENCH_RUNS, default 10).
 *   second signal     from a second SIGTERM (sent while a reactor thread's finalizer takes a
 *                     minute) to the process's end, as its parent sees it...
 *   plain exit        ...and, alternated with it, the same for a process with a reactor thread and
 *                     no NodeReactor whose SIGTERM listener calls process.exit(143): the floor
 *   after the block   from the end of a 1.5 s block (a SIGTERM came 100 ms into it) to the
 *                     process's end: drain, finalizers, the reactor thread's shutdown
 *   blockingLimit     how late a block with no end is given up, past a 1 s limit
 *   bridged worker    from a SIGTERM to the process's end when a MainThreadBridge worker is
 *                     released, runs its catch and 50 ms of clean-up, and the process waits for it
 * Prints the median and the range of each, and the load average before and after.
 */
import * as os from "node:os"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { runChild } from "../packages/platform-node/test/helpers.ts"

const runs = Number(process.env.BENCH_RUNS ?? 10)
const app = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runChild(fileURLToPath(new URL("../packages/platform-node/test/fixtures/signals/app.ts", import.meta.url)), args, env)

const stamp = (lines: ReadonlyArray<string>, prefix: string): number =>
  Number(lines.find((line) => line.startsWith(prefix))!.slice(prefix.length).split(" ")[0])

const exitedAt = async (child: ReturnType<typeof app>): Promise<number> => {
  const exit = await child.exited
  if (exit.code !== 143) throw new Error(`unexpected exit ${JSON.stringify(exit)}: ${child.stderr()}`)
  return Date.now()
}

const cases: Record<string, () => Promise<number>> = {
  "second signal": async () => {
    const child = app(["second"], { CROCHET_TEST_SLOW_FINALIZER: "1" })
    await child.line("ready")
    child.child.kill("SIGTERM")
    await child.line("thread finalizing")
    const sent = Date.now()
    child.child.kill("SIGTERM")
    return (await exitedAt(child)) - sent
  },
  "plain exit": async () => {
    const child = app(["plain"])
    await child.line("ready")
    const sent = Date.now()
    child.child.kill("SIGTERM")
    return (await exitedAt(child)) - sent
  },
  "after the block": async () => {
    const child = app(["block", "1500"])
    const started = stamp([await child.line("blocking ")], "blocking ")
    await sleep(Math.max(0, started + 100 - Date.now()))
    child.child.kill("SIGTERM")
    const end = await exitedAt(child)
    return end - stamp(child.lines, "returned slept ")
  },
  "blockingLimit": async () => {
    const child = app(["block", "forever"], { CROCHET_TEST_BLOCKING_LIMIT: "1 second" })
    const started = stamp([await child.line("blocking ")], "blocking ")
    await sleep(Math.max(0, started + 100 - Date.now()))
    child.child.kill("SIGTERM")
    await exitedAt(child)
    return stamp(child.lines, "call failed: BlockedTooLong ") - started - 1000
  },
  "bridged worker": async () => {
    const child = app(["bridge"])
    await child.line("ready")
    const sent = Date.now()
    child.child.kill("SIGTERM")
    const end = await exitedAt(child)
    if (!child.lines.includes("worker cleaned up")) throw new Error("the worker's clean-up did not run")
    return end - sent
  }
}

const load = () => os.loadavg().map((n) => n.toFixed(1)).join(" ")
console.log(`${os.cpus().length} cores, load average ${load()}, ${runs} runs of each (ms)`)
// One run of each case per round, so that the cases see the same load.
const figures = new Map(Object.keys(cases).map((name) => [name, [] as Array<number>]))
for (let run = 0; run < runs; run++) {
  for (const [name, measure] of Object.entries(cases)) figures.get(name)!.push(await measure())
}
for (const [name, values] of figures) {
  values.sort((a, b) => a - b)
  console.log(`${name.padEnd(16)} median ${values[Math.floor(values.length / 2)]}  range ${values[0]}–${values.at(-1)}`)
}
console.log(`load average after: ${load()}`)
