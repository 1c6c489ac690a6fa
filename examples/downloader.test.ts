import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { start, stop } from "./downloader.ts"

let app = ""

beforeAll(async () => {
  const ports = await start()
  app = `http://127.0.0.1:${ports.app}`
})
afterAll(stop)

/** A browser with one cookie jar: follows nothing, remembers the `download` cookie. */
const browser = () => {
  let cookie = ""
  return async (path: string) => {
    const response = await fetch(app + path, { redirect: "manual", headers: cookie ? { cookie } : {} })
    const setCookie = response.headers.get("set-cookie")
    if (setCookie !== null) cookie = /Max-Age=0/.test(setCookie) ? "" : setCookie.split(";")[0]!
    return { status: response.status, body: await response.text(), location: response.headers.get("location"), cookie }
  }
}

const download = (path: string) => `/download?${new URLSearchParams({ path })}`

describe("examples/downloader.ts", () => {
  it("starts a download, shows it in progress (re-stashed), then the page", async () => {
    const get = browser()
    const started = await get(download("/page?delay=1000"))
    expect(started.status).toBe(303)
    expect(started.location).toBe("/")
    expect(started.cookie).toMatch(/^download=[0-9a-f-]{36}$/)

    const pending = await get("/")
    expect(pending.status).toBe(202)
    expect(pending.body).toContain("in progress")
    // Re-stashed under a new id: a stashed result is retrieved once.
    expect(pending.cookie).toMatch(/^download=[0-9a-f-]{36}$/)
    expect(pending.cookie).not.toBe(started.cookie)

    let done = await get("/")
    for (let i = 0; done.status === 202 && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      done = await get("/")
    }
    expect(done.status).toBe(200)
    expect(done.body).toBe("Downloaded:\n<h1>Hello from the file server</h1>\n")
    expect(done.cookie).toBe("")

    const again = await get("/")
    expect(again.body).toContain("No download yet")
  })

  it("shows a failed download with its error and span trace", async () => {
    const get = browser()
    await get(download("/missing"))
    let page = await get("/")
    for (let i = 0; page.status === 202 && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      page = await get("/")
    }
    expect(page.status).toBe(502)
    expect(page.body).toMatch(
      /^Download failed: DownloadError: GET http:\/\/127\.0\.0\.1:\d+\/missing answered 404 Not Found$/m
    )
    expect(page.body).toMatch(/^ {4}at download \(.*downloader\.ts:\d+:\d+\)$/m)
    expect(page.body).toContain("at download (definition)")
    expect(page.cookie).toBe("")
  })

  it("answers 404 for an id it does not know (or cannot decode), and forgets the cookie", async () => {
    for (const cookie of ["download=not-an-id", "download=%zz"]) {
      const response = await fetch(app + "/", { headers: { cookie } })
      expect(response.status).toBe(404)
      expect(response.headers.get("set-cookie")).toContain("Max-Age=0")
    }
  })
  it("stop() interrupts downloads still running instead of waiting for them", async () => {
    const get = browser()
    await get(download("/page?delay=60000"))
    expect((await get("/")).status).toBe(202)
    const started = Date.now()
    await stop()
    expect(Date.now() - started).toBeLessThan(2000)
  })
})
