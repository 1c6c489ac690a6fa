/**
 * One trace across the thread boundary: a blocking call made inside the
 * caller's active OpenTelemetry span runs, in the serving thread's reactor,
 * in a span that is that span's child. Real threads on both bridges.
 */
import { Reactor, TimeoutError } from "@crochet/core"
import { MainThreadBridge, ReactorThread } from "@crochet/platform-node"
import { type Span, trace } from "@opentelemetry/api"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { once } from "node:events"
import { MessagePort, Worker } from "node:worker_threads"
import { afterAll, afterEach, describe, expect, it, vi } from "vitest"
import { LookupError } from "./fixtures/errors.ts"
import { makeTracing, type PlainSpan, tracedOperations } from "./fixtures/tracing.ts"
import { thrown } from "./helpers.ts"

// The calling thread's OpenTelemetry setup (what an app's HTTP instrumentation relies on).
const callerProvider = new NodeTracerProvider()
callerProvider.register()
const callerTracer = trace.getTracer("caller")

type Traced = typeof import("./fixtures/traced.reactor.ts")
const tracedUrl = new URL("./fixtures/traced.reactor.ts", import.meta.url)
const clients: Array<{ shutdown(): void }> = []
const connectTraced = () => {
  const client = ReactorThread.connect<Traced>(tracedUrl, { timeout: "5 seconds", errors: [LookupError] })
  clients.push(client)
  return client
}

afterAll(async () => {
  for (const client of clients) client.shutdown()
  await callerProvider.shutdown()
})

/** Runs `f` inside a new active span of the caller; returns the span's ids and f's result. */
const inCallerSpan = <A>(f: () => A): { readonly traceId: string; readonly spanId: string; readonly result: A } =>
  callerTracer.startActiveSpan("HTTP GET", (span: Span) => {
    const result = f()
    span.end()
    return { ...span.spanContext(), result }
  })

const named = (spans: ReadonlyArray<PlainSpan>, name: string) => spans.filter((span) => span.name === name)

describe("trace context across threads: ReactorThread", () => {
  it("the reactor thread's call spans are children of the caller's active span, with outcome and timeout", () => {
    const traced = connectTraced()
    traced.ready()
    const caller = inCallerSpan(() => {
      expect(traced.call.lookup("example.com")).toBe("example.com is 127.0.0.1")
      expect(thrown(() => traced.call.lookup("missing"))).toBeInstanceOf(LookupError)
      const timedOut = thrown(() => traced.with({ timeout: "50 millis" }).slow(60_000))
      expect(timedOut).toBeInstanceOf(TimeoutError)
      // The same error whichever side timed the call out first.
      expect(timedOut.message).toContain("slow() on the reactor thread traced.reactor.ts timed out after 50ms")
    })
    const spans = traced.call.spans(["lookup", "slow"])

    const [ok, failed] = named(spans, "lookup")
    const [slow] = named(spans, "slow")
    for (const span of [ok!, failed!, slow!]) {
      expect(span.traceId).toBe(caller.traceId)
      expect(span.parentSpanId).toBe(caller.spanId)
    }
    expect(ok!.attributes).toMatchObject({
      "crochet.reactor": "reactor",
      "crochet.outcome": "success",
      "crochet.timeout_ms": 5000
    })
    expect(ok!.attributes["crochet.duration_ms"]).toBeTypeOf("number")
    expect(failed!.attributes).toMatchObject({ "crochet.outcome": "failure", "crochet.error_tag": "LookupError" })
    // The caller timed out on time; the reactor thread timed the work out itself, and its span says so.
    expect(slow!.attributes).toMatchObject({ "crochet.outcome": "timeout", "crochet.timeout_ms": 50 })
    // The operation's own spans hang below the call's span: one trace from the caller into the fiber.
    expect(named(spans, "Resolver.lookup").map((span) => span.parentSpanId)).toEqual([ok!.spanId, failed!.spanId])
  })

  it("sends no trace context without an active span: the serving span is a root", () => {
    const traced = connectTraced()
    traced.ready()
    const post = vi.spyOn(MessagePort.prototype, "postMessage")
    let caller: ReturnType<typeof inCallerSpan>
    let sent: Array<unknown>
    try {
      expect(traced.call.lookup("example.org")).toBe("example.org is 127.0.0.1")
      caller = inCallerSpan(() => traced.call.lookup("example.net"))
      sent = post.mock.calls.map(([message]) => message)
    } finally {
      post.mockRestore()
    }
    const calls = sent.filter((message) => Array.isArray(message) && message[0] === 0)
    expect(calls).toHaveLength(2)
    // [Call, id, operation, args, timeout, trace]: the timeout always travels, the span only when there is one.
    expect(calls[0]).toEqual([0, expect.any(Number), "lookup", ["example.org"], 5000, undefined])
    expect(calls[1]).toEqual([0, expect.any(Number), "lookup", ["example.net"], 5000, [
      caller.traceId,
      caller.spanId,
      true
    ]])

    const spans = named(traced.call.spans(["lookup"]), "lookup")
    expect(spans).toHaveLength(2)
    const root = spans.find((span) => span.traceId !== caller.traceId)!
    expect(root.parentSpanId).toBeUndefined()
    expect(root.attributes).toMatchObject({ "crochet.outcome": "success" })
    expect(spans.find((span) => span.traceId === caller.traceId)!.parentSpanId).toBe(caller.spanId)
  })

  it("traceContext: false sends nothing even inside an active span", () => {
    const client = ReactorThread.connect<Traced>(tracedUrl, { traceContext: false })
    clients.push(client)
    client.ready()
    inCallerSpan(() => client.call.lookup("example.com"))
    const [span] = named(client.call.spans(["lookup"]), "lookup")
    expect(span!.parentSpanId).toBeUndefined()
  })
})

describe("trace context across threads: MainThreadBridge", () => {
  const workers: Array<Worker> = []
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.terminate()))
  })

  const startWorker = (bridge: MainThreadBridge.Bridge<any>, otel: boolean) => {
    const endpoint = bridge.endpoint()
    const worker = new Worker(new URL("./fixtures/traced-worker.ts", import.meta.url), {
      workerData: { endpoint, otel },
      transferList: [endpoint.port]
    })
    workers.push(worker)
    return async (calls: ReadonlyArray<{ op: string; args: ReadonlyArray<unknown>; timeout?: string }>) => {
      worker.postMessage(calls)
      const [reply] = await once(worker, "message")
      return reply
    }
  }

  /** The serving side's finished spans once those named are among them (bounded: 10 seconds). */
  const finishedSpans = async (tracing: ReturnType<typeof makeTracing>, names: ReadonlyArray<string>) => {
    const until = performance.now() + 10_000
    while (performance.now() < until && !names.every((name) => named(tracing.finished(), name).length > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return tracing.finished()
  }

  it("the main reactor's call spans are children of the worker's active span", async () => {
    const tracing = makeTracing()
    const reactor = Reactor.setup(tracing.layer, { name: "main" })
    const call = startWorker(MainThreadBridge.serve(reactor, tracedOperations), true)
    const reply = await call([
      { op: "lookup", args: ["example.com"] },
      { op: "lookup", args: ["missing"] },
      { op: "slow", args: [60_000], timeout: "50 millis" }
    ])
    expect(reply.results).toEqual([
      { ok: true, value: "example.com is 127.0.0.1" },
      { ok: false, tag: "LookupError" },
      { ok: false, tag: "TimeoutError" }
    ])
    const spans = await finishedSpans(tracing, ["lookup", "slow"])
    await reactor.shutdown()

    const [ok, failed] = named(spans, "lookup")
    const [slow] = named(spans, "slow")
    for (const span of [ok!, failed!, slow!]) {
      expect(span.traceId).toBe(reply.traceId)
      expect(span.parentSpanId).toBe(reply.spanId)
    }
    expect(ok!.attributes).toMatchObject({
      "crochet.reactor": "main",
      "crochet.outcome": "success",
      "crochet.timeout_ms": 5000
    })
    expect(failed!.attributes).toMatchObject({ "crochet.outcome": "failure", "crochet.error_tag": "LookupError" })
    expect(slow!.attributes).toMatchObject({ "crochet.outcome": "timeout", "crochet.timeout_ms": 50 })
    expect(named(spans, "Resolver.lookup").map((span) => span.parentSpanId)).toEqual([ok!.spanId, failed!.spanId])
  })

  it("a worker without OpenTelemetry loads none and sends no context: the serving span is a root", async () => {
    const tracing = makeTracing()
    const reactor = Reactor.setup(tracing.layer)
    const call = startWorker(MainThreadBridge.serve(reactor, tracedOperations), false)
    const reply = await call([{ op: "lookup", args: ["example.com"] }])
    expect(reply).toEqual({ results: [{ ok: true, value: "example.com is 127.0.0.1" }], apiLoaded: false })
    const [span] = named(await finishedSpans(tracing, ["lookup"]), "lookup")
    await reactor.shutdown()
    expect(span!.parentSpanId).toBeUndefined()
    // the call's timeout travels with the call, span or not
    expect(span!.attributes).toMatchObject({ "crochet.outcome": "success", "crochet.timeout_ms": 5000 })
  })
})
