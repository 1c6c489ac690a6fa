/**
 * Blocking calls into another thread, side by side: `npx node bench/threads.ts`
 * (or `npm run bench`). Each mode echoes a small payload ({ n }) and a 64 KiB
 * string back-to-back; modes are run in interleaved rounds and the median
 * round is reported.
 *   floor        hand-written: MessagePort wake-up + SharedArrayBuffer/Atomics.wait + receiveMessageOnPort
 *   synckit      synckit's createSyncFn (dev dependency, for comparison only)
 *   crochet      ReactorThread.connect(...).call.echo(x), default mode (OpenTelemetry is not loaded in this process:
 *                that is the cost of trace-context detection when no tracer is set up)
 *   crochet (traceContext: false)  the same with trace-context detection switched off: the reference for that cost
 *   low-latency  the same with { lowLatency: true } (reactor stays out of its event loop for 1 ms after each answer: 0.2 ms busy, then Atomics.wait; caller spins 50 µs)
 * and, in D, a failing call's round trip (a typed failure from an Effect.fn, rebuilt as its class on this side).
 */
import { ReactorThread } from "@crochet/platform-node"
import { execFileSync } from "node:child_process"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"
import { createSyncFn } from "synckit"
import { NotFound } from "./echo-errors.ts"

const calls = Number(process.env.BENCH_CALLS ?? 5_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

type Echo = (value: unknown) => unknown

const floor = (): { readonly echo: Echo; readonly close: () => Promise<number> } => {
  const buffer = new SharedArrayBuffer(4)
  const state = new Int32Array(buffer)
  const { port1, port2 } = new MessageChannel()
  const worker = new Worker(new URL("./floor-worker.ts", import.meta.url), {
    workerData: { buffer, port: port2 },
    transferList: [port2]
  })
  return {
    echo(value) {
      const seen = Atomics.load(state, 0)
      port1.postMessage(value)
      Atomics.wait(state, 0, seen)
      return receiveMessageOnPort(port1)!.message
    },
    close: () => worker.terminate()
  }
}

const synckit = (): Echo =>
  createSyncFn(fileURLToPath(new URL("./synckit-worker.ts", import.meta.url)), { tsRunner: "node" }) as Echo

type Bench = typeof import("./echo.reactor.ts")
const reactorUrl = new URL("./echo.reactor.ts", import.meta.url)
const crochet = ReactorThread.connect<Bench>(reactorUrl, { errors: [NotFound] })
const untraced = ReactorThread.connect<Bench>(reactorUrl, { traceContext: false })
const lowLatency = ReactorThread.connect<Bench>(reactorUrl, { lowLatency: true })

const payloads: ReadonlyArray<readonly [string, (i: number) => unknown]> = [
  ["{ n }", (n) => ({ n })],
  ["64 KiB string", () => big]
]
const big = "x".repeat(64 * 1024)

const hand = floor()
const modes: ReadonlyArray<readonly [string, Echo]> = [
  ["floor", hand.echo],
  ["synckit", synckit()],
  ["crochet (default)", (value) => crochet.call.echo(value)],
  ["crochet (traceContext: false)", (value) => untraced.call.echo(value)],
  ["crochet (low-latency)", (value) => lowLatency.call.echo(value)]
]

interface Sample {
  /** Median µs per call. */
  readonly micros: number
  /** CPU µs per call burnt by every thread but this one (the serving thread, spinning included). */
  readonly serverCpu: number
}

/**
 * Times `calls` calls one by one. With `gapMicros > 0` the caller does that
 * much other work (a busy loop) between calls, so an idle serving thread has
 * gone to sleep and each call pays its wake-up, unless the mode keeps it
 * spinning; with 0 the calls are back-to-back.
 */
const measure = (echo: Echo, payload: (i: number) => unknown, gapMicros: number): Sample => {
  const times = new Float64Array(calls)
  const process0 = process.cpuUsage()
  const thread0 = process.threadCpuUsage()
  for (let i = 0; i < calls; i++) {
    if (gapMicros > 0) {
      const until = performance.now() + gapMicros / 1000
      while (performance.now() < until) {
        // the caller's own work between calls
      }
    }
    const value = payload(i)
    const start = performance.now()
    echo(value)
    times[i] = performance.now() - start
  }
  const all = process.cpuUsage(process0)
  const own = process.threadCpuUsage(thread0)
  times.sort()
  return {
    micros: times[Math.floor(calls / 2)]! * 1000,
    serverCpu: (all.user + all.system - own.user - own.system) / calls
  }
}

// Warm every mode up (thread start, JIT) before measuring.
for (const [, echo] of modes) for (const [, payload] of payloads) for (let i = 0; i < 2_000; i++) echo(payload(i))

const median = (values: Array<number>): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const scenario = (gapMicros: number) => {
  const rows: Array<{ readonly mode: string; readonly payload: string } & Sample> = []
  for (const [payloadName, payload] of payloads) {
    const samples = new Map<string, Array<Sample>>()
    for (let round = 0; round < rounds; round++) {
      for (const [name, echo] of modes) {
        samples.set(name, [...(samples.get(name) ?? []), measure(echo, payload, gapMicros)])
      }
    }
    for (const [name] of modes) {
      const list = samples.get(name)!
      rows.push({
        mode: name,
        payload: payloadName,
        micros: median(list.map((sample) => sample.micros)),
        serverCpu: median(list.map((sample) => sample.serverCpu))
      })
    }
  }
  return rows.map((row) => {
    const floorRow = rows.find((other) => other.mode === "floor" && other.payload === row.payload)!
    return {
      mode: row.mode,
      payload: row.payload,
      "µs/call": row.micros.toFixed(1),
      "calls/s": Math.round(1e6 / row.micros).toLocaleString("en-US"),
      "vs floor": `${(row.micros / floorRow.micros).toFixed(2)}×`,
      "serving-thread CPU µs/call": row.serverCpu.toFixed(1)
    }
  })
}

const gap = Number(process.env.BENCH_GAP_MICROS ?? 100)
console.log(
  `Blocking calls into another thread, Node ${process.version}, ${os.cpus().length} cores, load average ` +
    `${os.loadavg()[0]!.toFixed(2)} (spinning modes suffer when no core is free): median µs per call over ${calls} ` +
    `calls, median of ${rounds} interleaved rounds.`
)
console.log(`\nA. ${gap} µs of other work between calls (the serving thread goes idle; the targets are measured here):`)
const idle = scenario(gap)
console.table(idle)

/**
 * The cost of trace-context detection with no tracer: the default mode and
 * `traceContext: false`, call by call in alternation (so that both see the
 * same machine: on 2 shared cores the round trip is bimodal, 13 or 50 µs).
 */
const paired = (payload: (i: number) => unknown): { readonly on: number; readonly off: number } => {
  const on = new Float64Array(calls)
  const off = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    for (
      const [echo, times] of i % 2 === 0
        ? [[crochet.call.echo, on], [untraced.call.echo, off]] as const
        : [[untraced.call.echo, off], [crochet.call.echo, on]] as const
    ) {
      const until = performance.now() + gap / 1000
      while (performance.now() < until) {
        // the caller's own work between calls, as in scenario A
      }
      const value = payload(i)
      const start = performance.now()
      echo(value)
      times[i] = performance.now() - start
    }
  }
  const mid = (times: Float64Array) => times.sort()[Math.floor(calls / 2)]! * 1000
  return { on: mid(on), off: mid(off) }
}
for (const [payloadName, payload] of payloads) {
  const samples = Array.from({ length: rounds }, () => paired(payload))
  const on = median(samples.map((sample) => sample.on))
  const off = median(samples.map((sample) => sample.off))
  console.log(
    `no tracer, ${payloadName} (calls alternated): default mode ${on.toFixed(1)} µs vs traceContext: false ` +
      `${off.toFixed(1)} µs = ${on >= off ? "+" : ""}${((on / off - 1) * 100).toFixed(1)} % (target: within 5 %)`
  )
}

console.log("\nB. back-to-back calls (the serving thread may not sleep between calls; bimodal on 2 cores):")
console.table(scenario(0))
console.log(
  "\nserving-thread CPU = process CPU minus this thread's CPU (process.cpuUsage / process.threadCpuUsage around " +
    "each run). After each answer the low-latency reactor thread polls busily for 0.2 ms, then sleeps in Atomics.wait " +
    "until 1 ms (lowLatency.reactorSpin) has passed: between calls it burns up to the gap (at most 0.2 ms) of CPU."
)

if ((globalThis as Record<PropertyKey, unknown>)[Symbol.for("opentelemetry.js.api.1")] !== undefined) {
  console.log("\nOpenTelemetry was set up in this process: the no-tracer row above is not measuring what it says.")
}

/**
 * C. Cold start, from the built packages (run `npm run build` first): bench/cold-start.ts
 * alternates fresh processes of each library, without this process's NODE_OPTIONS.
 */
const { NODE_OPTIONS: _sources, ...plainEnv } = process.env
console.log(
  `\nC. ${
    execFileSync(process.execPath, [fileURLToPath(new URL("./cold-start.ts", import.meta.url))], {
      encoding: "utf8",
      env: plainEnv
    }).trim()
  }`
)

/**
 * D. A failing call: the operation fails with a typed error from an `Effect.fn`; the serving
 * side encodes the Cause (span trace rendered there), the caller rebuilds it as `NotFound` and
 * catches it. "_tag" reads only the tag; "stack" also renders the stack (span trace, caller frames).
 */
const failing = (read: "_tag" | "stack"): Echo => (n) => {
  try {
    crochet.call.fail(n as number)
  } catch (error) {
    if (!(error instanceof NotFound)) throw error
    return error[read]
  }
  throw new Error("fail() did not fail")
}
const failureModes: ReadonlyArray<readonly [string, Echo]> = [
  ["success: echo({ n })", (n) => crochet.call.echo({ n })],
  ["failure, reads _tag", failing("_tag")],
  ["failure, reads stack", failing("stack")]
]
for (const [, call] of failureModes) for (let i = 0; i < 2_000; i++) call(i)
const failureSamples = new Map<string, Array<number>>()
for (let round = 0; round < rounds; round++) {
  for (const [name, call] of failureModes) {
    failureSamples.set(name, [...(failureSamples.get(name) ?? []), measure(call, (i) => i, gap).micros])
  }
}
console.log(`\nD. a failing call, crochet (default), ${gap} µs of other work between calls (modes interleaved):`)
console.table(failureModes.map(([name]) => {
  const micros = median(failureSamples.get(name)!)
  return { call: name, "µs/call": micros.toFixed(1), "calls/s": Math.round(1e6 / micros).toLocaleString("en-US") }
}))

crochet.shutdown()
untraced.shutdown()
lowLatency.shutdown()
await hand.close()
process.exit(0)
