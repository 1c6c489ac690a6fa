/**
 * The same Fastify route three ways, under load from autocannon (the server in
 * a process of its own): `node bench/http.ts` (or `npm run bench`).
 *   (a) plain      a plain async handler doing the work with Promises
 *   (b) managed    ManagedRuntime.runPromise(Effect.timeout(work, "5 seconds"))
 *   (c) reactor    reactor.waitFor(work, { timeout: "5 seconds", signal }), the signal aborting when the
 *                  response closes unfinished (the client went away)
 *   and ManagedRuntime.runPromise(work) with no timeout: what any Effect fiber that waits costs
 * Two scenarios, the work being one call to an async data source:
 *   CPU-bound  it answers at once and 50 connections saturate the server's core: req/s
 *              and the server's CPU time per request show what each way costs
 *              (plus (c) with Fastify's own request.signal);
 *   I/O-bound  it answers after IO_DELAY_MS (2 ms, a database query on a local network),
 *              and 10 connections keep the server below one core: the req/s ratio shows
 *              whether a route loses throughput, and the CPU per request what it costs.
 * Modes run in interleaved rounds; the median round is reported, with the
 * server's CPU time per request (steadier than req/s on a shared machine). Then a
 * disconnect-heavy run: clients that give up after 10 ms on work that takes
 * 1 s, for BENCH_DISCONNECT_SECONDS; the server's heap (after GC) before/after.
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { request as httpRequest } from "node:http"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"

const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 5)
const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 3)
const disconnectSeconds = Number(process.env.BENCH_DISCONNECT_SECONDS ?? 30)
const ioDelayMs = Number(process.env.IO_DELAY_MS ?? 2)
const disconnectClients = 50

const server = spawn(process.execPath, ["--expose-gc", fileURLToPath(new URL("./http-server.ts", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, IO_DELAY_MS: String(ioDelayMs) }
})
const base = (await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next()).value as string

const load = (path: string, connections: number, duration: number) =>
  autocannon({ url: base + path, connections, duration, pipelining: 1 })

const routes = (prefix: string) => [
  { name: "(a) plain async handler", path: `${prefix}/plain/1` },
  { name: "(b) ManagedRuntime.runPromise(Effect.timeout(…))", path: `${prefix}/managed/1` },
  { name: "(c) reactor.waitFor(…, { timeout, signal })", path: `${prefix}/reactor/1` },
  { name: "ManagedRuntime.runPromise(…), no timeout: Effect's floor", path: `${prefix}/managed-no-timeout/1` }
]

const scenarios = [
  {
    title: "CPU-bound: the data source answers at once",
    connections: 50,
    modes: [...routes("/cpu"), {
      name: "(c') the same, signal: Fastify's request.signal",
      path: "/cpu/reactor-request-signal/1"
    }]
  },
  {
    title: `I/O-bound: the data source answers after ${ioDelayMs} ms (a database query)`,
    connections: 10,
    modes: routes("/io")
  }
]

const median = (values: ReadonlyArray<number>): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

interface Round {
  readonly requestsPerSecond: number
  readonly p99: number
  readonly cpuMicros: number
  /** The server's CPU time over the wall time: 1 is one core saturated. */
  readonly busy: number
  readonly errors: number
}

const cpu = async () => ((await (await fetch(`${base}/usage`)).json()) as { micros: number }).micros

try {
  for (const { connections, modes, title } of scenarios) {
    for (const mode of modes) await load(mode.path, connections, 2) // warm-up
    const results = new Map<string, Array<Round>>(modes.map((mode) => [mode.name, []]))
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const cpuBefore = await cpu()
        const start = performance.now()
        const result = await load(mode.path, connections, seconds)
        const used = await cpu() - cpuBefore
        results.get(mode.name)!.push({
          requestsPerSecond: result.requests.average,
          p99: result.latency.p99,
          cpuMicros: used / result.requests.total,
          busy: used / 1000 / (performance.now() - start),
          errors: result.errors + result.non2xx
        })
      }
    }
    const summary = modes.map((mode) => {
      const all = results.get(mode.name)!
      return {
        name: mode.name,
        requestsPerSecond: median(all.map((r) => r.requestsPerSecond)),
        p99: median(all.map((r) => r.p99)),
        cpuMicros: median(all.map((r) => r.cpuMicros)),
        busy: median(all.map((r) => r.busy)),
        errors: all.reduce((sum, r) => sum + r.errors, 0)
      }
    })
    const [plain, managed] = summary as [typeof summary[0], typeof summary[0]]
    console.log(
      `\nHTTP (Fastify), ${title}; ${connections} connections, median of ${rounds} interleaved rounds of ${seconds} s`
    )
    console.log("| route | req/s | vs (a) | vs (b) | p99 latency | server CPU per request | server CPU busy | errors |")
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (const row of summary) {
      console.log(
        `| ${row.name} | ${Math.round(row.requestsPerSecond).toLocaleString("en")} | ${
          (row.requestsPerSecond / plain.requestsPerSecond).toFixed(2)
        }× | ${(row.requestsPerSecond / managed.requestsPerSecond).toFixed(2)}× | ${row.p99} ms | ${
          row.cpuMicros.toFixed(0)
        } µs | ${Math.round(row.busy * 100)} % | ${row.errors} |`
      )
    }
  }

  // Disconnect-heavy: every request is abandoned by its client after 10 ms; its work would take 1 s.
  const stats = async () =>
    (await fetch(`${base}/stats`)).json() as Promise<{
      heapUsed: number
      slowStarted: number
      finalizers: number
      reactor: { inFlight: number; calls: { aborted: number; success: number } }
    }>
  const before = await stats()
  const deadline = performance.now() + disconnectSeconds * 1000
  let sent = 0
  const client = async () => {
    while (performance.now() < deadline) {
      const request = httpRequest(`${base}/slow/1000`)
      request.on("error", () => {})
      request.end()
      sent++
      await new Promise((resolve) => setTimeout(resolve, 10))
      request.destroy()
    }
  }
  await Promise.all(Array.from({ length: disconnectClients }, client))
  let after = await stats()
  while (after.reactor.inFlight > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    after = await stats()
  }
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  console.log(
    `\nClient disconnects: ${disconnectClients} clients each abandoning a request after 10 ms, for ${disconnectSeconds} s`
  )
  const count = (n: number) => n.toLocaleString("en")
  console.log(
    "| requests abandoned | reached the handler | fibers interrupted (aborted) | finalizers run | completed anyway | in flight after | heap before | heap after |"
  )
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|")
  console.log(
    `| ${count(sent)} | ${count(after.slowStarted - before.slowStarted)} | ${
      count(after.reactor.calls.aborted - before.reactor.calls.aborted)
    } | ${count(after.finalizers - before.finalizers)} | ${
      count(after.reactor.calls.success - before.reactor.calls.success)
    } | ${after.reactor.inFlight} | ${mib(before.heapUsed)} | ${mib(after.heapUsed)} |`
  )
} finally {
  server.kill("SIGTERM")
  await once(server, "exit")
}
