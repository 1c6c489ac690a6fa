/**
 * A background job in the reactor (Crochet's scheduling example).
 *
 * The layer starts a fiber that refreshes a value every `interval`; request
 * handlers read the latest value with `waitFor` and a short timeout. On
 * `reactor.shutdown()` the job is interrupted with the layer's scope, so the
 * process then ends by itself: no `process.exit` needed.
 *
 *   npx node examples/scheduling.ts            # refresh every second, read 3 times
 *   npx node examples/scheduling.ts 200 5      # refresh every 200 ms, read 5 times
 */
import { Reactor } from "@crochet/core"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { setTimeout as sleep } from "node:timers/promises"
import { pathToFileURL } from "node:url"

/** What the job keeps fresh: here a counter and when it last ticked. */
export interface Reading {
  readonly refreshes: number
  readonly at: Date
}

/** The latest reading, read by request handlers. */
export class Latest extends Context.Service<Latest, Effect.Effect<Reading>>()("examples/Latest") {
  /** Refreshes the reading every `interval`, from the moment the layer is built until its scope closes. */
  static readonly layer = (interval: Duration.Input) =>
    Layer.effect(
      Latest,
      Effect.gen(function*() {
        const latest = yield* Ref.make<Reading>({ refreshes: 0, at: new Date() })
        const refresh = Ref.update(latest, (reading) => ({ refreshes: reading.refreshes + 1, at: new Date() }))
        yield* Effect.sleep(interval).pipe(
          Effect.andThen(refresh),
          Effect.forever,
          Effect.onInterrupt(() => Effect.sync(() => console.log("refresh job: stopped"))),
          Effect.forkScoped
        )
        return Ref.get(latest)
      })
    )
}

/** Builds the reactor and the handler that reads the latest value. */
export const make = (interval: Duration.Input) => {
  const reactor = Reactor.setup(Latest.layer(interval), { logLevel: "Error" })
  /** A request handler: plain async code that gets an answer fast or an error. */
  const handleRequest = reactor.waitFor(() => Effect.flatMap(Latest, (latest) => latest), { timeout: "100 millis" })
  return { reactor, handleRequest }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const interval = Duration.millis(Number(process.argv[2] ?? 1000))
  const reads = Number(process.argv[3] ?? 3)
  const { handleRequest, reactor } = make(interval)
  for (let i = 0; i < reads; i++) {
    const reading = await handleRequest()
    console.log(`request ${i + 1}: ${reading.refreshes} refreshes, last at ${reading.at.toISOString()}`)
    await sleep(Duration.toMillis(interval) * 1.5)
  }
  console.log("shutting down")
  await reactor.shutdown()
  console.log(`reactor: ${reactor.status}; the process now ends by itself`)
}
