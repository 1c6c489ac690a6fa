import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Resource from "@effect/opentelemetry/Resource"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { trace } from "@opentelemetry/api"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Data, Effect, Exit, Layer, Metric, Tracer } from "effect"
import { outsideError, stopReasonOf } from "../src/Bridge.ts"
import { Reactor, ReactorStopped, TimeoutError } from "../src/index.ts"

class NoSuchUser extends Data.TaggedError("NoSuchUser")<{ readonly id: number }> {}

// What an app's OpenTelemetry setup does: a global tracer provider, spans kept in memory here.
const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register()
afterAll(() => provider.shutdown())

const loadUser = Effect.fn("loadUser")(function*(id: number) {
  yield* Effect.sleep(1)
  if (id !== 1) return yield* new NoSuchUser({ id })
  return "Ada"
})

const rejection = (promise: Promise<unknown>): Promise<any> => promise.then(() => undefined, (error) => error)

describe("tracing", () => {
  it("runs each call in a span that is a child of the caller's OpenTelemetry span", async () => {
    exporter.reset()
    const reactor = Reactor.setup(OtelTracer.layerGlobal, { name: "users" })
    const getUser = reactor.waitFor(loadUser, { timeout: "1 second", spanName: "GET /users/:id" })
    const http = trace.getTracer("http-server")
    await http.startActiveSpan("HTTP GET", async (request) => {
      await getUser(1)
      await rejection(getUser(2))
      request.end()
    })
    await rejection(reactor.waitFor(Effect.never, { timeout: 5 }))
    const stopped = rejection(reactor.waitFor(Effect.never))
    await reactor.shutdown()
    expect(await stopped).toBeInstanceOf(ReactorStopped)

    const spans = exporter.getFinishedSpans()
    const byName = (name: string) => spans.filter((span) => span.name === name)
    const [request] = byName("HTTP GET")
    const [ok, failed] = byName("GET /users/:id")
    expect(ok!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId)
    expect(ok!.spanContext().traceId).toBe(request!.spanContext().traceId)
    expect(failed!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId)
    // The effect's own spans hang below the call's span: one trace from the request into the fiber.
    const inner = byName("loadUser")
    expect(inner.map((span) => span.parentSpanContext?.spanId)).toEqual([
      ok!.spanContext().spanId,
      failed!.spanContext().spanId
    ])
    expect(ok!.attributes).toMatchObject({
      "crochet.reactor": "users",
      "crochet.timeout_ms": 1000,
      "crochet.outcome": "success"
    })
    expect(ok!.attributes["crochet.duration_ms"]).toBeTypeOf("number")
    expect(failed!.attributes).toMatchObject({ "crochet.outcome": "failure", "crochet.error_tag": "NoSuchUser" })
    const plain = byName("Reactor.waitFor")
    expect(plain.map((span) => span.attributes["crochet.outcome"])).toEqual(["timeout", "stopped"])
    expect(plain[0]!.attributes["crochet.timeout_ms"]).toBe(5)
  })

  it("takes the span's name, parent and timeout from runCallback's options (a call from another thread)", async () => {
    exporter.reset()
    const reactor = Reactor.setup(OtelTracer.layerGlobal, { name: "bridge" })
    const exitOf = <A, E>(
      effect: Effect.Effect<A, E, never>,
      options: Omit<Reactor.RunCallbackOptions<A, E>, "onExit">
    ) => new Promise<Exit.Exit<A, E>>((onExit) => reactor.runCallback(effect, { ...options, onExit }))
    // A caller's span context as it arrives from another thread or process.
    const parentSpan = Tracer.externalSpan({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" })
    expect(await exitOf(loadUser(1), { spanName: "lookup", parentSpan })).toEqual(Exit.succeed("Ada"))
    const timedOut = await exitOf(Effect.never, { spanName: "slow", parentSpan, timeout: 5 })
    expect(Exit.isFailure(timedOut) && stopReasonOf(timedOut.cause)?._tag).toBe("Timeout")
    expect(Exit.isFailure(timedOut) && outsideError(timedOut.cause)).toBeInstanceOf(TimeoutError)
    expect(() => reactor.runCallback(Effect.void, { timeout: "soon" as never, onExit: () => {} })).toThrow(
      /options.timeout/
    )
    // A parent that was not sampled: nothing is recorded below it (OpenTelemetry's parent-based sampler).
    const unsampled = Tracer.externalSpan({ traceId: parentSpan.traceId, spanId: parentSpan.spanId, sampled: false })
    await exitOf(loadUser(1), { spanName: "unsampled", parentSpan: unsampled })
    await reactor.shutdown()

    const spans = exporter.getFinishedSpans()
    const byName = (name: string) => spans.find((span) => span.name === name)!
    for (const name of ["lookup", "slow"]) {
      expect(byName(name).spanContext().traceId).toBe(parentSpan.traceId)
      expect(byName(name).parentSpanContext?.spanId).toBe(parentSpan.spanId)
    }
    expect(spans.filter((span) => span.name === "loadUser").map((span) => span.parentSpanContext?.spanId)).toEqual([
      byName("lookup").spanContext().spanId
    ])
    expect(spans.some((span) => span.name === "unsampled")).toBe(false)
    expect(byName("lookup").attributes).toMatchObject({ "crochet.reactor": "bridge", "crochet.outcome": "success" })
    expect(byName("lookup").attributes["crochet.timeout_ms"]).toBeUndefined()
    expect(byName("slow").attributes).toMatchObject({ "crochet.outcome": "timeout", "crochet.timeout_ms": 5 })
  })

  it("creates no span at all when no tracer is configured", async () => {
    exporter.reset()
    const reactor = Reactor.setup(Layer.empty)
    await reactor.waitFor(loadUser(1))
    await reactor.shutdown()
    expect(exporter.getFinishedSpans()).toEqual([])
  })
})

describe("stats and metrics", () => {
  it("counts calls by outcome, waits, and what the last shutdown released", async () => {
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { name: "stats-test" })
    await reactor.waitFor(Effect.succeed(1))
    await reactor.waitFor(loadUser(1))
    await rejection(reactor.waitFor(loadUser(2)))
    const timedOut = await rejection(reactor.waitFor(Effect.never, { timeout: 1 }))
    expect(timedOut).toBeInstanceOf(TimeoutError)
    const cancelled = reactor.runInReactor(Effect.never)
    cancelled.cancel()
    const controller = new AbortController()
    const aborted = rejection(reactor.waitFor(Effect.never, { signal: controller.signal }))
    controller.abort()
    await aborted
    const pending = [rejection(reactor.waitFor(Effect.never)), rejection(reactor.waitFor(Effect.never))]
    expect(reactor.stats().inFlight).toBe(2)
    await reactor.shutdown()
    await Promise.all(pending)

    const stats = reactor.stats()
    expect(stats.status).toBe("stopped")
    expect(stats.inFlight).toBe(0)
    expect(stats.calls).toEqual({ success: 2, failure: 1, timeout: 1, aborted: 1, cancelled: 1, stopped: 2 })
    expect(stats.waits.count).toBe(7)
    expect(stats.waits.maxSeconds).toBeGreaterThan(0)
    expect(stats.lastShutdown.pending).toBe(2)
    expect(stats.lastShutdown.releaseSeconds).toBeGreaterThanOrEqual(0)

    // The same numbers as Effect metrics, for any exporter that reads Effect's metric registry.
    const snapshot = Effect.runSync(Metric.snapshot).filter((metric) => metric.attributes?.["reactor"] === "stats-test")
    const find = (id: string, outcome?: string) =>
      snapshot.find((metric) =>
        metric.id === id && (outcome === undefined || metric.attributes?.["outcome"] === outcome)
      )
    expect(find("crochet_reactor_calls_total", "success")?.state).toMatchObject({ count: 2 })
    expect(find("crochet_reactor_calls_total", "stopped")?.state).toMatchObject({ count: 2 })
    expect(find("crochet_reactor_in_flight")?.state).toEqual({ value: 0 })
    expect(find("crochet_reactor_shutdown_pending")?.state).toEqual({ value: 2 })
    expect(find("crochet_reactor_wait_seconds")?.state).toMatchObject({ count: 7 })
  })
})

describe("metrics through OpenTelemetry", () => {
  it("exports the reactor's metrics with the app's OpenTelemetry metrics layer", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
    const metrics = OtelMetrics.layer(() => reader).pipe(Layer.provide(Resource.layerEmpty))
    const reactor = Reactor.setup(metrics, { name: "otel-metrics" })
    await reactor.waitFor(Effect.succeed(1))
    await reactor.waitFor(Effect.sleep(1))
    await reader.forceFlush()
    const exported = exporter.getMetrics().flatMap((batch) => batch.scopeMetrics.flatMap((scope) => scope.metrics))
    const calls = exported.find((metric) => metric.descriptor.name === "crochet_reactor_calls_total")
    const success = calls?.dataPoints.find((point) =>
      point.attributes["reactor"] === "otel-metrics" && point.attributes["outcome"] === "success"
    )
    expect(success?.value).toBe(2)
    expect(exported.map((metric) => metric.descriptor.name)).toEqual(
      expect.arrayContaining(["crochet_reactor_in_flight", "crochet_reactor_wait_seconds"])
    )
    await reactor.shutdown()
  })
})
