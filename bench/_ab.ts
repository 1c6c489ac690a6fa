import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
const mode = process.argv[2]
if (mode) {
  const started = performance.now()
  if (mode === "synckit") {
    const { createSyncFn } = await import("synckit")
    const echo = createSyncFn(fileURLToPath(new URL("./synckit-worker.ts", import.meta.url)), { tsRunner: "node" })
    echo(1)
  } else {
    const ReactorThread = await import(mode === "new" ? "@crochet/platform-node/ReactorThread" : "../packages/platform-node/dist-old/ReactorThread.js")
    const client = ReactorThread.connect(new URL("./echo.reactor.ts", import.meta.url))
    client.call.echo(1)
    console.log(performance.now() - started)
    client.shutdown()
    process.exit(0)
  }
  console.log(performance.now() - started)
} else {
  const { NODE_OPTIONS: _s, ...env } = process.env
  const t: Record<string, number[]> = { old: [], new: [], synckit: [] }
  for (let i = 0; i < Number(process.env.N ?? 9); i++) for (const m of Object.keys(t)) t[m]!.push(Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), m], { encoding: "utf8", env }).trim()))
  const med = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!
  console.log(Object.entries(t).map(([k, v]) => `${k} ${med(v).toFixed(0)}`).join("  "), ` new/synckit ${(med(t.new!) / med(t.synckit!)).toFixed(2)} old/synckit ${(med(t.old!) / med(t.synckit!)).toFixed(2)}`)
}
