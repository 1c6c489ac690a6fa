/**
 * `npm run bench` (core part): the cost of calling into Effect from a Promise,
 * side by side in one process, plus the cost of many pending waits and of
 * releasing them at shutdown. Run with `npx node --expose-gc bench/core.ts`.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Data, Effect, Exit, FiberSet, Layer, ManagedRuntime, References, Scope } from "effect"
import { Reactor } from "../packages/core/src/index.ts"

const rounds = 5
const gc = (globalThis as { gc?: () => void }).gc
const callsPerRound = 200_000

interface Row {
  readonly name: string
  readonly callsPerSecond: number
}

/** Best of `rounds` runs of `calls` sequential awaited calls (the best run has the least noise from GC and JIT). */
const measure = async (name: string, call: () => Promise<unknown>, calls = callsPerRound): Promise<Row> => {
  let best = 0
  for (let round = 0; round < rounds; round++) {
    const start = performance.now()
    for (let i = 0; i < calls; i++) await call()
    const seconds = (performance.now() - start) / 1000
    best = Math.max(best, calls / seconds)
  }
  return { name, callsPerSecond: best }
}

const print = (title: string, rows: ReadonlyArray<Row>, baseline: Row) => {
  console.log(`\n${title}`)
  console.log("| call | calls/s | µs/call | vs baseline |")
  console.log("|---|---:|---:|---:|")
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${Math.round(row.callsPerSecond).toLocaleString("en")} | ${
        (1e6 / row.callsPerSecond).toFixed(2)
      } | ${(row.callsPerSecond / baseline.callsPerSecond).toFixed(2)}× |`
    )
  }
}

const runtime = ManagedRuntime.make(Layer.empty)
const reactor = Reactor.setup(Layer.empty)
const scope = Effect.runSync(Scope.make())
const runInFiberSet = await Effect.runPromise(FiberSet.makeRuntimePromise().pipe(Scope.provide(scope)))
await reactor.waitFor(Effect.void) // build the (empty) layer before measuring

const workloads = [
  { label: "Effect.succeed(1)", effect: Effect.succeed(1) },
  { label: "an effect that yields once", effect: Effect.yieldNow.pipe(Effect.as(1)) }
] as const

for (const { effect, label } of workloads) {
  const managed = await measure("ManagedRuntime.runPromise", () => runtime.runPromise(effect))
  const rows = [
    managed,
    await measure("FiberSet.makeRuntimePromise", () => runInFiberSet(effect)),
    await measure("reactor.waitFor", () => reactor.waitFor(effect))
  ]
  print(`${label}, no timeout (baseline: ManagedRuntime.runPromise; target ≥ 1.0×)`, rows, managed)

  const timed = effect.pipe(Effect.timeout("5 seconds"))
  const peer = await measure("ManagedRuntime.runPromise(Effect.timeout(…, 5 s))", () => runtime.runPromise(timed))
  const timedRows = [
    peer,
    await measure("FiberSet runtime (Effect.timeout(…, 5 s))", () => runInFiberSet(timed)),
    await measure("reactor.waitFor(…, { timeout: 5 s })", () => reactor.waitFor(effect, { timeout: "5 seconds" }))
  ]
  print(`${label}, 5 s timeout (baseline: the peer; target ≥ 2×)`, timedRows, peer)
}

// The route of bench/http.ts without the HTTP server: 50 concurrent callers, each call awaiting
// a data source that answers at once; (c) also makes a fresh AbortController per call, as a
// route's signal would be. The server's CPU time per call, median of 21 rounds run in random order.
{
  const find = async (id: number) => ({ id })
  const work = (id: number) => Effect.promise(() => find(id))
  const routes: ReadonlyArray<readonly [string, (id: number) => Promise<unknown>]> = [
    ["(a) a plain async function", find],
    ["ManagedRuntime.runPromise(…), no timeout: Effect's floor", (id) => runtime.runPromise(work(id))],
    [
      "(b) ManagedRuntime.runPromise(Effect.timeout(…, 5 s))",
      (id) => runtime.runPromise(Effect.timeout(work(id), "5 seconds"))
    ],
    [
      "(c) reactor.waitFor(…, { timeout: 5 s, signal })",
      (id) => reactor.waitFor(work(id), { timeout: "5 seconds", signal: new AbortController().signal })
    ]
  ]
  const cpuPerCall = async (call: (id: number) => Promise<unknown>) => {
    const before = process.cpuUsage()
    await Promise.all(Array.from({ length: 50 }, async (_, caller) => {
      for (let i = 0; i < 400; i++) await call(caller + i)
    }))
    const used = process.cpuUsage(before)
    return (used.user + used.system) / 20_000
  }
  const samples = new Map(routes.map(([name]) => [name, [] as Array<number>]))
  for (let round = 0; round < 21; round++) {
    for (const [name, call] of [...routes].sort(() => Math.random() - 0.5)) {
      gc?.()
      samples.get(name)!.push(await cpuPerCall(call))
    }
  }
  const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]!
  const floor = samples.get(routes[1]![0])!
  console.log(
    "\nA route's call without HTTP: 50 concurrent callers, data source answering at once (CPU per call, median of 21)"
  )
  console.log("| call | CPU µs/call | over Effect's floor (paired median) |")
  console.log("|---|---:|---:|")
  for (const [name] of routes) {
    const all = samples.get(name)!
    console.log(`| ${name} | ${median(all).toFixed(2)} | ${median(all.map((x, i) => x - floor[i]!)).toFixed(2)} |`)
  }
}

// Tracing: a reactor makes spans only when a tracer other than Effect's built-in one is
// configured, so "no tracer" must cost the same as tracing switched off (target: within 5%).
const yieldOnce = Effect.yieldNow.pipe(Effect.as(1))
const tracingOff = Reactor.setup(Layer.succeed(References.TracerEnabled, false))
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const traced = Reactor.setup(
  OtelTracer.layer.pipe(Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)))
)
await tracingOff.waitFor(Effect.void)
await traced.waitFor(Effect.void)
const off = await measure(
  "tracing switched off (References.TracerEnabled = false)",
  () => tracingOff.waitFor(yieldOnce)
)
const tracingRows = [
  off,
  await measure("no tracer configured", () => reactor.waitFor(yieldOnce)),
  await measure("OpenTelemetry tracer, in-memory exporter (a span per call)", () => {
    exporter.reset()
    return traced.waitFor(yieldOnce)
  }, 50_000)
]
print(
  "Tracing cost, an effect that yields once (baseline: tracing off; target for no tracer: ≥ 0.95×)",
  tracingRows,
  off
)
await tracingOff.shutdown()
await traced.shutdown()

// Failures: the reactor rewrites the stack (span trace + caller frames) where runPromise
// rejects with the raw error. Caller frames come from V8's async stack traces: free on success.
class Failed extends Data.TaggedError("Failed")<{}> {}
const failing = Effect.yieldNow.pipe(Effect.andThen(Effect.fail(new Failed())))
const failingFresh = Effect.yieldNow.pipe(Effect.andThen(Effect.suspend(() => Effect.fail(new Failed()))))
const swallow = (promise: Promise<unknown>) => promise.catch(() => undefined)
const failureRows = [
  await measure("ManagedRuntime.runPromise, new error", () => swallow(runtime.runPromise(failingFresh)), 50_000),
  await measure(
    "reactor.waitFor, new error (trace + caller frames)",
    () => swallow(reactor.waitFor(failingFresh)),
    50_000
  ),
  await measure(
    "reactor.waitFor, the same error again (already rewritten)",
    () => swallow(reactor.waitFor(failing)),
    50_000
  )
]
print("A failing effect that yields once (baseline: ManagedRuntime.runPromise)", failureRows, failureRows[0]!)

// Pending waits: memory per wait, and the time for shutdown() to release them all.
const pendingCount = 100_000
const pendingReactor = Reactor.setup(Layer.effectDiscard(Effect.void)) // its own layer, so its own reactor
await pendingReactor.waitFor(Effect.void)
gc?.()
const heapBefore = process.memoryUsage().heapUsed
const pending: Array<Promise<unknown>> = []
for (let i = 0; i < pendingCount; i++) pending.push(pendingReactor.waitFor(Effect.never, { timeout: "1 hour" }))
gc?.()
const bytesPerWait = (process.memoryUsage().heapUsed - heapBefore) / pendingCount
let released = 0
for (const promise of pending) promise.catch(() => released++)
const shutdownStart = performance.now()
await pendingReactor.shutdown()
const shutdownMs = performance.now() - shutdownStart
console.log(`\n${pendingCount.toLocaleString("en")} pending waitFor calls (each with a 1 hour timeout armed)`)
console.log(
  `| memory per pending wait | shutdown() until all ${pendingCount.toLocaleString("en")} rejected | rejected |`
)
console.log("|---:|---:|---:|")
console.log(
  `| ${gc ? `${Math.round(bytesPerWait)} B` : "run with --expose-gc"} | ${shutdownMs.toFixed(0)} ms | ${
    released.toLocaleString("en")
  } |`
)

await reactor.shutdown()
await runtime.dispose()
await Effect.runPromise(Scope.close(scope, Exit.void))
