/**
 * The downloader as two processes behind a (pretend) load balancer, sharing
 * stashed results through Redis: each request goes to the other process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, startRedis } from "../packages/redis-store/test/helpers.ts"

const script = fileURLToPath(new URL("downloader.ts", import.meta.url))
let redis: RedisServer
const apps: Array<{ readonly child: ChildProcess; readonly url: string }> = []

const startApp = (redisUrl: string) =>
  new Promise<{ readonly child: ChildProcess; readonly url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [script, "--redis", redisUrl], { stdio: ["ignore", "pipe", "inherit"] })
    let output = ""
    const timer = setTimeout(() => reject(new Error(`downloader did not start: ${output}`)), 15_000)
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      const match = /Downloader on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, url: match[1]! })
      }
    })
    child.once("exit", (code) => reject(new Error(`downloader exited (${code}): ${output}`)))
  })

beforeAll(async () => {
  redis = await startRedis()
  apps.push(await startApp(redis.url), await startApp(redis.url))
}, 30_000)

afterAll(async () => {
  await Promise.all(apps.map(({ child }) => {
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGINT")
    return exited
  }))
  await redis?.stop()
}, 20_000)

/** A browser whose every request goes to the next app in turn (round robin). */
const browser = () => {
  let cookie = ""
  let turn = 0
  return async (path: string) => {
    const app = apps[turn++ % apps.length]!
    const response = await fetch(app.url + path, { redirect: "manual", headers: cookie ? { cookie } : {} })
    const setCookie = response.headers.get("set-cookie")
    if (setCookie !== null) cookie = /Max-Age=0/.test(setCookie) ? "" : setCookie.split(";")[0]!
    return { status: response.status, body: await response.text() }
  }
}

const until = async (get: () => Promise<{ status: number; body: string }>) => {
  let page = await get()
  for (let i = 0; page.status === 202 && i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    page = await get()
  }
  return page
}

describe("examples/downloader.ts --redis, two processes", () => {
  it("a download started on one process is shown by the other", async () => {
    const get = browser()
    expect((await get(`/download?${new URLSearchParams({ path: "/page?delay=500" })}`)).status).toBe(303)
    const done = await until(() => get("/"))
    expect(done).toEqual({ status: 200, body: "Downloaded:\n<h1>Hello from the file server</h1>\n" })
    expect((await get("/")).body).toContain("No download yet")
  }, 30_000)

  it("a failed download shows the error and the span trace of the process that ran it", async () => {
    const get = browser()
    await get(`/download?${new URLSearchParams({ path: "/missing" })}`)
    const page = await until(() => get("/"))
    expect(page.status).toBe(502)
    expect(page.body).toMatch(
      /^Download failed: DownloadError: GET http:\/\/127\.0\.0\.1:\d+\/missing answered 404 Not Found$/m
    )
    expect(page.body).toMatch(/^ {4}at download \(.*downloader\.ts:\d+:\d+\)$/m)
  }, 30_000)
})
