/**
 * A reactor module whose reactor traces its calls (docs/observability.md,
 * "Across threads"). A thread has its own OpenTelemetry setup: this module
 * gives its reactor an Effect tracer backed by an OpenTelemetry provider of
 * this thread. In production that provider's exporter sends the spans to your
 * collector (OTLP); here they stay in memory and `finishedSpans` hands them
 * to the caller as plain data.
 */
import { ReactorThread } from "@crochet/platform-node"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const TracingLive = OtelTracer.layer.pipe(Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)))

const lookup = Effect.fn("Resolver.lookup")(function*(host: string) {
  yield* Effect.sleep("1 millis")
  return host === "example.com" ? "93.184.215.14" : "127.0.0.1"
})

export default ReactorThread.define({
  layer: TracingLive,
  operations: {
    lookup,
    finishedSpans: () =>
      Effect.sync(() =>
        exporter.getFinishedSpans().map((span) => ({
          name: span.name,
          traceId: span.spanContext().traceId,
          spanId: span.spanContext().spanId,
          parentSpanId: span.parentSpanContext?.spanId,
          attributes: { ...span.attributes }
        }))
      )
  },
  timeouts: { lookup: "2 seconds" }
})
