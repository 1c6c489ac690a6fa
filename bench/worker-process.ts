/**
 * The completing side of bench/redis.ts's BullMQ comparison, in a process
 * of its own as both are deployed: BullMQ's Worker, and a reactor whose
 * Redis store owns the work that the bench retrieves. Both complete their
 * work in this process and are timed with this process's clock, so that
 * their wake-ups share one clock offset (see bench/redis.ts's `child`).
 * Says {"ready": true}, then reads commands on stdin and answers JSON lines
 * (every time is `performance.timeOrigin + performance.now()`):
 *   clock              {"clock": ...}
 *   stash              one result whose work waits for "go": {"id": ...}
 *   go                 completes it (no answer)
 *   completed          once its work ended: {"completedAt": ...}, when its code ended
 *   spublish <channel> the floor: a bare node-redis SPUBLISH from this process: {"at": ...}
 * Each BullMQ job returns its `i` and the moment its work completed.
 *   node bench/worker-process.ts <redis port>
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import { Worker } from "bullmq"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createInterface } from "node:readline"
import { createClient } from "redis"

const port = Number(process.argv[2])
const now = () => performance.timeOrigin + performance.now()
const worker = new Worker(
  "bench",
  async (job) => ({ i: job.data.i as number, completedAt: now() }),
  { connection: { host: "127.0.0.1", port }, concurrency: 1 }
)
await worker.waitUntilReady()
const store = RedisResultStore.make({ url: `redis://127.0.0.1:${port}` })
const owner = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
// Without node-redis's per-command timer, as bench/redis.ts's clients (see there).
const publisher = createClient({ url: `redis://127.0.0.1:${port}`, commandOptions: { timeout: 0 } })
await publisher.connect()
const print = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)

let open: () => void = () => undefined
let completedAt = 0
let ended: Promise<unknown> = Promise.resolve()
print({ ready: true })
const input = createInterface({ input: process.stdin })
input.on("line", async (line) => {
  const [command, argument] = line.split(" ")
  if (command === "clock") {
    print({ clock: now() })
  } else if (command === "stash") {
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const result = owner.runInReactor(
      Effect.promise(() => gate).pipe(Effect.map(() => {
        completedAt = now()
        return 1
      }))
    )
    ended = result.wait()
    print({ id: result.stash() })
  } else if (command === "go") {
    open()
  } else if (command === "completed") {
    await ended
    print({ completedAt })
  } else if (command === "spublish") {
    const at = now()
    void publisher.sPublish(argument!, "x")
    print({ at })
  }
})
input.on("close", async () => {
  await worker.close()
  await owner.shutdown()
  await store.close()
  publisher.destroy()
  process.exit(0)
})
