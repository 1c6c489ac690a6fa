/**
 * What both soak scripts share: checks that are counted and printed, figures
 * for the closing table, a heap reading after GC, and a count of unhandled
 * rejections. Run the scripts with `npx node --expose-gc` (or `npm run soak`).
 */
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with npx node --expose-gc soak/<script>.ts, or npm run soak")

let unhandled = 0
process.on("unhandledRejection", () => unhandled++)

const failures: Array<string> = []
const rows: Array<[string, string]> = []

/** Records (and prints) one check. */
export const check = (ok: boolean, what: string): void => {
  if (!ok) failures.push(what)
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`)
}

/** Adds a figure to the closing table. */
export const figure = (what: string, value: string): void => {
  rows.push([what, value])
}

/** The heap in use after three rounds of GC. */
export const heapAfterGc = async (): Promise<number> => {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

/** Checks for unhandled rejections, prints the table, and exits non-zero if any check failed. */
export const finish = (title: string, started: number): void => {
  check(unhandled === 0, `no unhandled rejections (${unhandled})`)
  figure("total time", `${((performance.now() - started) / 1000).toFixed(1)} s`)
  console.log(`\n| ${title} | figure |\n|---|---:|`)
  for (const [what, value] of rows) console.log(`| ${what} | ${value} |`)
  if (failures.length > 0) {
    console.error(`\n${failures.length} check(s) failed`)
    process.exit(1)
  }
}
