/**
 * Two processes share stashed results through Redis (`@crochet/redis-store`):
 * process A starts work and stashes it; process B (a child here, another
 * machine behind a load balancer in real life) retrieves the id and waits
 * for the value or the failure, with A's trace.
 *
 * Needs a Redis server (`redis-server`, from your package manager or redis.io):
 *
 *   redis-server --port 6379 --save "" &   # any Redis; or set REDIS_URL
 *   npx node examples/shared-store.ts
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

class ReportFailed extends Data.TaggedError("ReportFailed")<{ readonly message: string; readonly month: string }> {}

const buildReport = Effect.fn("buildReport")(function*(month: string) {
  yield* Effect.sleep("500 millis")
  if (month === "2026-13") return yield* new ReportFailed({ message: `there is no month ${month}`, month })
  return { month, rows: 42 }
})

const store = RedisResultStore.make({ url: process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379", ttl: "10 minutes" })
// Fail fast, in one line, when no Redis answers (the store would otherwise connect on first use).
await store.ready().catch((error) => {
  console.error(`${error._tag}: ${error.message}`)
  process.exit(1)
})
const reactor = Reactor.setup(Layer.empty, { resultStore: store })

if (process.argv[2] === "retrieve") {
  // Process B: any process using the same Redis.
  for (const id of process.argv.slice(3)) {
    await reactor.retrieve(id).wait({ timeout: "10 seconds" }).then(
      (report) => console.log(`B got ${JSON.stringify(report)}`),
      (error) => console.log(`B got ${error._tag}: ${error.message} (month ${error.month})\n${error.stack}`)
    )
  }
} else {
  // Process A: start two reports, stash them, hand the ids on (a cookie, a URL...).
  const ids = ["2026-10", "2026-13"].map((month) => reactor.runInReactor(buildReport(month)).stash())
  console.log(`A stashed ${ids.length} reports`)
  const b = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), "retrieve", ...ids])
  process.stdout.write(b.stdout)
  // Each id is retrieved once, across all processes.
  await reactor.retrieve(ids[0]!).wait().catch((error) => console.log(`A again: ${error._tag}`))
}
await reactor.shutdown()
await store.close()
