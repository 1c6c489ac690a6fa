/**
 * The calling thread's active OpenTelemetry span, to send along with a call
 * so that the serving reactor's span for it continues the caller's trace.
 *
 * `@opentelemetry/api` is optional: it is loaded (synchronously, once) only
 * after OpenTelemetry has been set up in this thread — a tracer provider or a
 * context manager registered, which creates the API's global — so a program
 * without OpenTelemetry loads nothing and needs nothing installed, and each
 * call pays one property read.
 */
import { createRequire } from "node:module"
import type { WireTrace } from "./protocol.ts"

/** Where `@opentelemetry/api` (1.x) keeps its registered globals; set once OpenTelemetry is set up in a thread. */
const apiGlobal = Symbol.for("opentelemetry.js.api.1")

/** The part of `@opentelemetry/api` used here. */
interface OtelApi {
  readonly context: { active(): unknown }
  readonly trace: {
    getSpan(context: unknown): { spanContext(): { traceId: string; spanId: string; traceFlags: number } } | undefined
  }
  readonly isSpanContextValid: (spanContext: { traceId: string; spanId: string; traceFlags: number }) => boolean
}

/** `undefined`: not loaded yet; `null`: not installed. */
let api: OtelApi | null | undefined

const loadApi = (): OtelApi | null => {
  try {
    return createRequire(import.meta.url)("@opentelemetry/api") as OtelApi
  } catch {
    return null
  }
}

/** The active span of this thread as wire data, or `undefined` when there is none (or OpenTelemetry is absent). */
export const activeTrace = (): WireTrace | undefined => {
  if ((globalThis as Record<PropertyKey, unknown>)[apiGlobal] === undefined) return undefined
  if (api === undefined) api = loadApi()
  if (api === null) return undefined
  const span = api.trace.getSpan(api.context.active())
  if (span === undefined) return undefined
  const spanContext = span.spanContext()
  if (!api.isSpanContextValid(spanContext)) return undefined
  return [spanContext.traceId, spanContext.spanId, (spanContext.traceFlags & 1) === 1]
}
