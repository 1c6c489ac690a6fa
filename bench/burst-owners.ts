/**
 * bench/redis.ts's burst, the owners' side, in a process of its own (as
 * owners are deployed): `stores` owner stores, and as many bare node-redis
 * clients for the peer. Says {"ready": true}, then reads commands on stdin and answers JSON lines:
 *   stash      `count` results that wait for "go", round robin over the stores: {"ids": [...]}
 *   go         completes them all at once: {"at": <performance.timeOrigin + performance.now()>}
 *   spublish   the peer: `count` SPUBLISH to bench:burst:<n>, round robin over the clients: {"at": ...}
 *   clock      {"clock": ...}, for the bench to measure the offset between the processes' clocks
 *   node bench/burst-owners.ts <redis url> <count> <stores>
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createInterface } from "node:readline"
import { createClient } from "redis"

const [url, count, storeCount] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])]
const stores = Array.from({ length: storeCount }, () => RedisResultStore.make({ url }))
const owners = stores.map((store) =>
  Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
)
const publishers = await Promise.all(Array.from({ length: storeCount }, async () => {
  const client = createClient({ url })
  await client.connect()
  return client
}))
const print = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`)
const now = () => performance.timeOrigin + performance.now()

let open: () => void = () => undefined
print({ ready: true })
const input = createInterface({ input: process.stdin })
input.on("line", (line) => {
  if (line === "stash") {
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    print({
      ids: Array.from({ length: count }, (_, i) =>
        owners[i % storeCount]!.runInReactor(
          Effect.promise(() => gate).pipe(Effect.as(i))
        ).stash())
    })
  } else if (line === "go") {
    const at = now()
    open()
    print({ at })
  } else if (line === "clock") {
    print({ clock: now() })
  } else if (line === "spublish") {
    const at = now()
    for (let i = 0; i < count; i++) {
      void publishers[i % storeCount]!.sPublish(`bench:burst:${i % storeCount}`, String(i))
    }
    print({ at })
  }
})
input.on("close", async () => {
  for (const owner of owners) await owner.shutdown()
  for (const store of stores) await store.close()
  for (const client of publishers) client.destroy()
  process.exit(0)
})
