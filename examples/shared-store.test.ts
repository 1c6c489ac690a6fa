import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type RedisServer, startRedis } from "../packages/redis-store/test/helpers.ts"

const run = promisify(execFile)
const script = fileURLToPath(new URL("shared-store.ts", import.meta.url))
let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
}, 20_000)
afterAll(() => redis?.stop())

it("examples/shared-store.ts: B gets A's value, and A's failure with its span trace; ids are one-shot", async () => {
  const { stdout } = await run(process.execPath, [script], {
    timeout: 30_000,
    env: { ...process.env, REDIS_URL: redis.url }
  })
  expect(stdout).toContain("A stashed 2 reports\n")
  expect(stdout).toContain(`B got {"month":"2026-10","rows":42}\n`)
  expect(stdout).toContain(
    "B got ReportFailed: there is no month 2026-13 (month 2026-13)\nReportFailed: there is no month 2026-13\n"
  )
  expect(stdout).toMatch(/^ {4}at buildReport \(.*shared-store\.ts:\d+:\d+\)$/m)
  expect(stdout).toContain("A again: ResultNotFound\n")
}, 40_000)

it(
  "examples/shared-store.ts without Redis: exits 1 at once with one line naming the URL and how to start Redis",
  async () => {
    const url = "redis://127.0.0.1:1"
    const error = await run(process.execPath, [script], { timeout: 20_000, env: { ...process.env, REDIS_URL: url } })
      .then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error
      )
    expect(error?.code).toBe(1)
    expect(error?.stdout).toBe("")
    const lines = error!.stderr.trimEnd().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^StoreUnavailable: The Redis result store at redis:\/\/127\.0\.0\.1:1 is unavailable: .*ECONNREFUSED/
    )
    expect(lines[0]).toContain("redis-server --port 1")
  },
  30_000
)
