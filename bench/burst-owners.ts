/**
 * bench/redis.ts's burst, the owners' side, in a process of its own (as
 * owners are deployed): `stores` owner stores, and as many bare node-redis
 * clients for the floors. Says {"ready": true}, then reads commands on stdin
 * and answers JSON lines (every time is `performance.timeOrigin + performance.now()`):
 *   stash        `count` results that wait for "go", round robin over the stores: {"ids": [...]}
 *   go           completes them all at once: {"at": <the gate's opening>}, then, once every
 *                work has ended, {"completedAt": [...]}: when each work's own code ended
 *   effect       floor: `count` Effect works like stash's (same reactors, no store) that wait for "go",
 *                each handing its Exit as JSON to a bare client, which sends those of a tick in one
 *                SPUBLISH of `[[i, exit], ...]` to bench:effect:<n>: {"ready": true}; then "go" as above
 *   effect+script <tokens>  floor: `count` Effect works like stash's (same reactors, no store) that wait for
 *                "go", each handing its Exit to a bare client, which sends those of a tick as the store's
 *                publish script over records claimed by <tokens> (as "script"): {"ids": [...]}; then "go" as above
 *   spublish     floor: `count` SPUBLISH to bench:burst:<n>, round robin over the clients: {"at": ...}
 *   script <tokens>  floor: what the store sends Redis for `count` completions (its publish script, one
 *                per client for its share of the records, claimed by <tokens>, comma-separated, round
 *                robin), sent at once from the bare clients with no store around it: {"ready": true}
 *                once the records are written, then "fire" sends them: {"at": ...}
 *   published    once the owners published every Exit (their reactors have nothing in flight): {"published": true}
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
  // Without node-redis's per-command timer, as bench/redis.ts's clients (see there).
  const client = createClient({ url, commandOptions: { timeout: 0 } })
  await client.connect()
  return client
}))
await publishers[0]!.sendCommand(["SCRIPT", "LOAD", Scripts.publish.lua])
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
const newGate = () => {
  completedAt = new Array(count).fill(0)
  ended = []
  return new Promise<void>((resolve) => {
    open = resolve
  })
}
/** The effect floor's Exits of this tick, per client: sent together at the end of the tick. */
const outgoing: Array<Array<string>> = publishers.map(() => [])
const hand = (n: number, pair: string) => {
  if (outgoing.every((pairs) => pairs.length === 0)) {
    process.nextTick(() =>
      outgoing.forEach((pairs, client) => {
        if (pairs.length > 0) void publishers[client]!.sPublish(`bench:effect:${client}`, `[${pairs.join(",")}]`)
        outgoing[client] = []
      })
    )
  }
  outgoing[n]!.push(pair)
}

/** The Exit the store would publish for result i. */
const exitOf = (i: number) => JSON.stringify({ _tag: "Success", value: i })
/** `count` pending records under the floor's prefix, claimed by `tokens` (comma-separated, round robin): their ids. */
const floorRecords = async (tokens: string) => {
  const waiters = tokens.split(",")
  const ids = Array.from({ length: count }, (_, i) => `${Date.now().toString(36)}.floor-${i}`)
  await Promise.all(ids.map((id, i) =>
    publishers[i % storeCount]!.hSet(floorKeys.record(id), {
      state: "pending",
      owner: "bench",
      token: "bench",
      waiter: waiters[i % waiters.length]!
    })
  ))
  return ids
}
/** The store's publish script for these results, with the owner's arguments. */
const sendScript = (client: (typeof publishers)[number], results: ReadonlyArray<readonly [string, string]>) =>
  client.sendCommand([
    "EVALSHA",
    Scripts.publish.sha,
    String(results.length * 2),
    ...results.flatMap(([id]) => [floorKeys.record(id), floorKeys.claim(id)]),
    "3600000",
    "bench",
    "bench",
    floorKeys.channel(""),
    ...results.flatMap(([id, exit]) => [exit, JSON.stringify([id, exit])])
  ])
/** The effect+script floor's results of this tick, per client: sent together at the end of the tick. */
const scripted: Array<Array<readonly [string, string]>> = publishers.map(() => [])
const handScript = (n: number, id: string, exit: string) => {
  if (scripted.every((results) => results.length === 0)) {
    process.nextTick(() =>
      scripted.forEach((results, client) => {
        if (results.length > 0) void sendScript(publishers[client]!, results)
        scripted[client] = []
      })
    )
  }
  scripted[n]!.push([id, exit])
}

input.on("line", async (line) => {
  const [command, argument] = line.split(" ")
  if (command === "stash") {
    const gate = newGate()
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
  } else if (command === "effect") {
    const gate = newGate()
    for (let i = 0; i < count; i++) {
      const result = owners[i % storeCount]!.runInReactor(
        Effect.promise(() => gate).pipe(Effect.map(() => {
          completedAt[i] = now()
          hand(i % storeCount, JSON.stringify([i, JSON.stringify({ _tag: "Success", value: i })]))
          return i
        }))
      )
      ended.push(result.wait().then(() => undefined))
    }
    print({ ready: true })
  } else if (command === "go") {
    const at = now()
    open()
    print({ at })
    await Promise.all(ended)
    print({ completedAt })
  } else if (command === "published") {
    while (owners.some((owner) => owner.stats().inFlight > 0)) await new Promise((resolve) => setTimeout(resolve, 1))
    print({ published: true })
  } else if (command === "clock") {
    print({ clock: now() })
  } else if (command === "spublish") {
    const at = now()
    for (let i = 0; i < count; i++) {
      void publishers[i % storeCount]!.sPublish(`bench:burst:${i % storeCount}`, String(i))
    }
    print({ at })
  } else if (command === "script") {
    const ids = await floorRecords(argument!)
    fire = () => {
      const at = now()
      publishers.forEach((client, n) => {
        // The owner's arguments, as it sends them for its share of results of the same size.
        void sendScript(client, ids.flatMap((id, i) => i % storeCount === n ? [[id, exitOf(i)] as const] : []))
      })
      print({ at })
    }
    print({ ready: true })
  } else if (command === "effect+script") {
    const ids = await floorRecords(argument!)
    const gate = newGate()
    for (let i = 0; i < count; i++) {
      const result = owners[i % storeCount]!.runInReactor(
        Effect.promise(() => gate).pipe(Effect.map(() => {
          completedAt[i] = now()
          handScript(i % storeCount, ids[i]!, exitOf(i))
          return i
        }))
      )
      ended.push(result.wait().then(() => undefined))
    }
    print({ ids })
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
