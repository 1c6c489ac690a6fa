import { ReactorStopped } from "@crochet/core"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { make } from "./scheduling.ts"

const run = promisify(execFile)
const script = fileURLToPath(new URL("./scheduling.ts", import.meta.url))

describe("examples/scheduling.ts", () => {
  it("refreshes in the background, stops the job on shutdown, and the process exits by itself", async () => {
    // execFile kills the child (and rejects) if it is still alive after 10 s.
    const { stderr, stdout } = await run(process.execPath, [script, "100", "5"], { timeout: 10_000 })
    expect(stderr).toBe("")
    const lines = stdout.trim().split("\n")
    const counts = lines.flatMap((line) => /^request \d: (\d+) refreshes/.exec(line)?.[1] ?? []).map(Number)
    expect(counts).toHaveLength(5)
    expect(counts.every((count, i) => i === 0 || count >= counts[i - 1]!)).toBe(true)
    expect(counts[4]).toBeGreaterThan(counts[0]!)
    expect(lines.slice(5)).toEqual([
      "shutting down",
      "refresh job: stopped",
      "reactor: stopped; the process now ends by itself"
    ])
  })

  it("handlers read the latest value; after shutdown they get ReactorStopped", async () => {
    const { handleRequest, reactor } = make("20 millis")
    const first = await handleRequest()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const later = await handleRequest()
    expect(later.refreshes).toBeGreaterThan(first.refreshes)
    expect(later.at.getTime()).toBeGreaterThan(first.at.getTime())
    await reactor.shutdown()
    await expect(handleRequest()).rejects.toBeInstanceOf(ReactorStopped)
  })
})
