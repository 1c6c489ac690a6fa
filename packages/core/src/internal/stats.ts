import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import type * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import { stopReasonOf } from "./stop.ts"

/** How a call ended, as counted and as put on its span. */
export type Outcome = "success" | "failure" | "timeout" | "aborted" | "cancelled" | "stopped"

const outcomes: ReadonlyArray<Outcome> = ["success", "failure", "timeout", "aborted", "cancelled", "stopped"]

/** The outcome of a call that ended with `exit`; `stopping` says whether a shutdown was interrupting it. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>, stopping: boolean): Outcome => {
  if (exit._tag === "Success") return "success"
  switch (stopReasonOf(exit.cause)?._tag) {
    case "Timeout":
      return "timeout"
    case "Abort":
      return "aborted"
    case "Cancel":
      return "cancelled"
    case "Stop":
      return "stopped"
    case undefined:
      return stopping && Cause.hasInterruptsOnly(exit.cause) ? "stopped" : "failure"
  }
}

/** Upper bounds of the wait-time buckets, in seconds: 0.1 ms to about 7 minutes, ×4 each. */
const waitBoundaries: ReadonlyArray<number> = Metric.exponentialBoundaries({ start: 0.0001, factor: 4, count: 12 })

/**
 * The numbers behind `reactor.stats()`: plain counters on the hot path, read
 * by the Effect metrics only when something takes a snapshot of them.
 */
export class Counters {
  readonly calls: Record<Outcome, number> = {
    success: 0,
    failure: 0,
    timeout: 0,
    aborted: 0,
    cancelled: 0,
    stopped: 0
  }
  waits = 0
  waitSecondsTotal = 0
  waitSecondsMin = Infinity
  waitSecondsMax = 0
  /** Waits per bucket of `waitBoundaries`, the last one for longer waits. */
  readonly waitBuckets = new Float64Array(waitBoundaries.length + 1)
  pendingAtShutdown = 0
  shutdownReleaseSeconds = 0

  /** Records the wait of a call that did not finish at once. */
  recordWait(seconds: number): void {
    this.waits++
    this.waitSecondsTotal += seconds
    if (seconds < this.waitSecondsMin) this.waitSecondsMin = seconds
    if (seconds > this.waitSecondsMax) this.waitSecondsMax = seconds
    let bucket = 0
    while (bucket < waitBoundaries.length && seconds > waitBoundaries[bucket]!) bucket++
    this.waitBuckets[bucket]!++
  }

  /** The wait times as an Effect histogram's state (cumulative buckets). */
  waitHistogram(): Metric.HistogramState {
    let cumulated = 0
    return {
      buckets: waitBoundaries.map((
        boundary,
        index
      ): [number, number] => [boundary, cumulated += this.waitBuckets[index]!]),
      count: this.waits,
      min: this.waits === 0 ? 0 : this.waitSecondsMin,
      max: this.waitSecondsMax,
      sum: this.waitSecondsTotal
    }
  }
}

/** The metric names, documented in docs/observability.md. */
export const metricNames = {
  inFlight: "crochet_reactor_in_flight",
  calls: "crochet_reactor_calls_total",
  wait: "crochet_reactor_wait_seconds",
  pendingAtShutdown: "crochet_reactor_shutdown_pending",
  shutdownRelease: "crochet_reactor_shutdown_release_seconds"
} as const

/**
 * Makes a reactor's counters and registers its metrics in the context's
 * metric registry (so an OpenTelemetry metrics layer exports them). Counters
 * and gauges are read when a snapshot is taken: they cost nothing per call.
 */
export const makeCounters = (
  reactor: string,
  inFlight: () => number
): { readonly counters: Counters; readonly register: (context: Context.Context<never>) => void } => {
  const attributes = { reactor }
  const counters = new Counters()
  const pull = <State>(metric: Metric.Metric<any, State>, read: () => State) => (context: Context.Context<never>) =>
    Metric.registerUnsafe(metric, context, { get: read, update: () => {}, modify: () => {} })
  const gauge = (name: string, description: string, read: () => number) =>
    pull(Metric.gauge(name, { description, attributes }), () => ({ value: read() }))
  const registrations = [
    gauge(metricNames.inFlight, "Calls from outside code running in the reactor now", inFlight),
    gauge(
      metricNames.pendingAtShutdown,
      "Calls still running when the last shutdown started interrupting",
      () => counters.pendingAtShutdown
    ),
    gauge(
      metricNames.shutdownRelease,
      "Seconds the last shutdown took to release the calls it interrupted",
      () => counters.shutdownReleaseSeconds
    ),
    pull(
      Metric.histogram(metricNames.wait, {
        description: "Seconds outside callers waited for calls that did not finish at once",
        boundaries: waitBoundaries,
        attributes
      }),
      () => counters.waitHistogram()
    ),
    ...outcomes.map((outcome) =>
      pull(
        Metric.counter(metricNames.calls, {
          description: "Calls from outside code, by outcome",
          attributes: { ...attributes, outcome },
          incremental: true
        }),
        () => ({ count: counters.calls[outcome], incremental: true })
      )
    )
  ]
  return {
    counters,
    register: (context) => {
      for (const register of registrations) register(context)
    }
  }
}
