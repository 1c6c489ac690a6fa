/**
 * bench/redis.ts's burst, the owners' side, in a process of its own (as
 * owners are deployed): `stores` owner stores, and as many bare node-redis
 * clients for the floors. Says {"ready": true}, then reads commands on stdin
 * and answers JSON lines (every time is `performance.timeOrigin + performance.now()`):
 *   stash        `count` results that wait for "go", round robin over the stores: {"ids": [...]}
 *   go           completes them all at once: {"at": <the gate's opening>}, then, once every
 *                work has ended, {"completedAt": [...]}: when each work's own code ended
 *   spublish     floor: `count` SPUBLISH to bench:burst:<n>, round robin over the clients: {"at": ...}
 *   script <tokens>  floor: what the store sends Redis for `count` completions (its publish script, on
 *                records claimed by <tokens>, comma-separated, round robin), sent at once from the bare
 *                clients with no store around it: {"ready": true} once the records are written, then
 *                "fire" sends them: {"at": ...}
 *   clock        {"clock": ...}, for the bench to measure the offset between the processes' clocks
 *   node bench/burst-owners.ts <redis url> <count> <stores>
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createInterface } from "node:readline"
import { createClient } from "redis"
import * as Scripts from "../packages/redis-store/src/internal/scripts.ts"

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

/** The floor's records, under a prefix of their own: the store's keys and script, nothing else. */
const floorKeys = new Scripts.Keys("bench:floor:")
let fire: () => void = () => undefined

let open: () => void = () => undefined
let completedAt: Array<number> = []
let ended: Array<Promise<void>> = []
print({ ready: true })
const input = createInterface({ input: process.stdin })
input.on("line", async (line) => {
  const [command, argument] = line.split(" ")
  if (command === "stash") {
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    completedAt = new Array(count).fill(0)
    ended = []
    print({
      ids: Array.from({ length: count }, (_, i) => {
        const result = owners[i % storeCount]!.runInReactor(
          Effect.promise(() => gate).pipe(Effect.map(() => {
            completedAt[i] = now()
            return i
          }))
        )
        ended.push(result.wait().then(() => undefined))
        return result.stash()
      })
    })
  } else if (command === "go") {
    const at = now()
    open()
    print({ at })
    await Promise.all(ended)
    print({ completedAt })
  } else if (command === "clock") {
    print({ clock: now() })
  } else if (command === "spublish") {
    const at = now()
    for (let i = 0; i < count; i++) {
      void publishers[i % storeCount]!.sPublish(`bench:burst:${i % storeCount}`, String(i))
    }
    print({ at })
  } else if (command === "script") {
    const tokens = argument!.split(",")
    const ids = Array.from({ length: count }, (_, i) => `${Date.now().toString(36)}.floor-${i}`)
    await Promise.all(ids.map((id, i) =>
      publishers[i % storeCount]!.hSet(floorKeys.record(id), {
        state: "pending",
        owner: "bench",
        token: "bench",
        waiter: tokens[i % tokens.length]!
      })
    ))
    await publishers[0]!.sendCommand(["SCRIPT", "LOAD", Scripts.publish.lua])
    fire = () => {
      const at = now()
      ids.forEach((id, i) => {
        // The owner's arguments, as it sends them for a result of the same size.
        const exit = JSON.stringify({ _tag: "Success", value: i })
        void publishers[i % storeCount]!.sendCommand([
          "EVALSHA",
          Scripts.publish.sha,
          "2",
          floorKeys.record(id),
          floorKeys.claim(id),
          "3600000",
          exit,
          "bench",
          "bench",
          floorKeys.channel(""),
          `d ${JSON.stringify([id, exit])}`
        ])
      })
      print({ at })
    }
    print({ ready: true })
  } else if (command === "fire") {
    fire()
  }
})
input.on("close", async () => {
  for (const owner of owners) await owner.shutdown()
  for (const store of stores) await store.close()
  for (const client of publishers) client.destroy()
  process.exit(0)
})
