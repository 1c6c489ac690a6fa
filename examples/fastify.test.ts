import { Reactor } from "@crochet/core"
import { expect, it } from "@effect/vitest"
import autocannon from "autocannon"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { spawn } from "node:child_process"
import { once } from "node:events"
import type { AddressInfo } from "node:net"
import { createInterface } from "node:readline"
import { Db, makeApp } from "./fastify.ts"

// autocannon's timer library (retimer 3) reschedules a timer that fired late with a negative
// delay; Node then warns (TimeoutNegativeWarning) and waits 1 ms. Not this code's: that one
// warning is kept out of the test output, every other warning still shows.
const emitWarning = process.emitWarning
process.emitWarning = ((warning: string | Error, ...rest: Array<any>) => {
  const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type
  if (type === "TimeoutNegativeWarning") return
  return (emitWarning as (...args: Array<unknown>) => void).call(process, warning, ...rest)
}) as typeof process.emitWarning

/** Resolves once `condition()` holds; fails after 10 s saying what it waited for. */
const until = async (condition: () => boolean | Promise<boolean>, what: string): Promise<void> => {
  const deadline = Date.now() + 10_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The example's app over a reactor made in the test's scope (its timers follow the TestClock). */
const listening = Effect.gen(function*() {
  const reactor = yield* Reactor.make<Db>()
  const app = makeApp(reactor)
  yield* Effect.addFinalizer(() => Effect.promise(() => app.close()))
  yield* Effect.promise(() => app.listen({ port: 0, host: "127.0.0.1" }))
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const get = (path: string, init?: RequestInit) =>
    fetch(base + path, init).then(async (response) => ({ status: response.status, body: await response.json() }))
  const counts = () => reactor.waitFor(Db.use((db) => db.counts))
  return { app, base, counts, get, reactor }
}).pipe(Effect.provide(Db.layer))

it.effect("routes: the value, a typed error as 404, the route's timeout as 504, a stopped reactor as 503", () =>
  Effect.gen(function*() {
    const { app, counts, get, reactor } = yield* listening
    expect(yield* Effect.promise(() => get("/users/1"))).toEqual({ status: 200, body: { id: 1, name: "Ada" } })
    expect(yield* Effect.promise(() => get("/users/7"))).toEqual({
      status: 404,
      body: { error: "UserNotFound", message: "There is no user with id 7." }
    })
    expect((yield* Effect.promise(() => get("/report?ms=-1"))).status).toBe(400)
    expect(yield* Effect.promise(() => get("/health"))).toMatchObject({ status: 200, body: { status: "running" } })

    // The route's 5 s timeout, on the TestClock: the query is interrupted, its connection released.
    const slow = get("/report?ms=60000")
    yield* Effect.promise(() => until(() => reactor.stats().inFlight === 1, "the report runs"))
    yield* TestClock.adjust("5 seconds")
    const timedOut = yield* Effect.promise(() => slow)
    expect(timedOut.status).toBe(504)
    expect(timedOut.body).toMatchObject({ error: "TimeoutError" })
    expect(yield* Effect.promise(counts)).toEqual({ open: 0, finished: 2, interrupted: 1 })

    // app.close() stops the reactor in preClose: the call still running gets 503.
    const stopped = get("/report?ms=60000")
    yield* Effect.promise(() => until(() => reactor.stats().inFlight === 1, "the report runs"))
    yield* Effect.promise(() => app.close())
    expect(yield* Effect.promise(() => stopped)).toMatchObject({ status: 503, body: { error: "ReactorStopped" } })
    expect(reactor.status).toBe("stopped")
  }))

it.effect("client disconnects under load: every abandoned request's fiber is interrupted, its finalizer runs", () =>
  Effect.gen(function*() {
    const { app, base, counts, reactor } = yield* listening
    let requests = 0
    app.server.on("request", () => requests++)
    // The work never ends by itself (the TestClock stands still): each request ends when
    // autocannon gives up on it after 1 s and resets the connection, or stops at the end.
    const result = yield* Effect.promise(() =>
      autocannon({ url: `${base}/report?ms=60000`, connections: 20, duration: 2.5, timeout: 1, sampleInt: 100 })
    )
    expect(result.timeouts).toBeGreaterThanOrEqual(20)
    yield* Effect.promise(() => until(() => reactor.stats().inFlight === 0, "no call is in flight"))
    const after = yield* Effect.promise(counts)
    expect(requests).toBeGreaterThanOrEqual(result.timeouts)
    expect(after).toEqual({ open: 0, finished: 0, interrupted: requests })
    expect(reactor.stats().calls.aborted).toBe(requests)
  }))

it(
  "rolling restart: SIGTERM under sustained load; every started request is answered, 200 or 503, none lost",
  async () => {
    const drainMillis = 1000
    // The example's own main() (SIGTERM → app.close() → preClose → reactor.shutdown()), in a child
    // process that counts, on the server's side, the requests it started and the responses it sent.
    const child = spawn(process.execPath, [
      "--input-type=module",
      "-e",
      `
    const { main } = await import(${JSON.stringify(new URL("./fastify.ts", import.meta.url).href)})
    const app = await main(0, ${drainMillis})
    let started = 0
    const sent = {}
    app.server.on("request", (request, response) => {
      started++
      response.on("finish", () => (sent[response.statusCode] = (sent[response.statusCode] ?? 0) + 1))
    })
    process.on("exit", () => console.log(JSON.stringify({ started, sent })))
    `
    ], { stdio: ["ignore", "pipe", "inherit"] })
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
      const base = ((await lines.next()).value as string).replace(/^listening on /, "")
      const exited = once(child, "exit")

      let load!: autocannon.Instance
      const loaded = new Promise<autocannon.Result>((resolve, reject) => {
        load = autocannon(
          { url: `${base}/report?ms=20`, connections: 20, duration: 30, sampleInt: 100 },
          (error, result) => (error ? reject(error) : resolve(result))
        )
      })
      const responses: Record<string, number> = {}
      load.on("response", (_client: unknown, status: number) => (responses[status] = (responses[status] ?? 0) + 1))
      // Work that cannot finish within the drain.
      const long = Array.from({ length: 5 }, () =>
        fetch(`${base}/report?ms=60000`).then(async (response) => ({
          status: response.status,
          error: ((await response.json()) as { error: string }).error
        })))
      await until(() => (responses[200] ?? 0) > 500, "the load is under way")

      const signalled = performance.now()
      child.kill("SIGTERM")
      const [code] = await exited
      const exitMillis = performance.now() - signalled
      load.stop()
      await loaded

      const server = JSON.parse((await lines.next()).value as string) as {
        started: number
        sent: Record<string, number>
      }
      const longAnswers = await Promise.all(long)
      for (const { status } of longAnswers) responses[status] = (responses[status] ?? 0) + 1

      expect(code).toBe(0)
      expect(exitMillis).toBeLessThan(drainMillis + 1000)
      // Still running when the drain ended: interrupted, 503. (Requests that arrived during the drain
      // got Fastify's own 503 for a closing server.)
      expect(longAnswers).toEqual(Array.from({ length: 5 }, () => ({ status: 503, error: "ReactorStopped" })))
      expect(Object.keys(responses).sort()).toEqual(["200", "503"]) // no 500, no 504
      // Every request the server started was answered, and every answer reached the client.
      const sentTotal = Object.values(server.sent).reduce((a, b) => a + b, 0)
      expect(sentTotal).toBe(server.started)
      expect(server.sent).toEqual(responses)
    } finally {
      child.kill("SIGKILL")
    }
  },
  30_000
)
