/**
 * The Redis result store against a redis-server this bench starts on a free
 * 127.0.0.1 port: `node bench/redis.ts` (or `npm run bench`). Two stores in
 * one process stand for two processes (each has its own connections).
 *
 * - completion → remote wake: the owner's work completes while the
 *   retriever's claim is in place (1 ms after it landed); how long from the
 *   end of the work's code until the retriever's `wait` resolves (on one server, and on a 3-node Redis Cluster
 *   this bench starts too). Peers measured in the same run: node-redis
 *   sharded pub/sub (SPUBLISH → SSUBSCRIBE listener), one after each wake
 *   (same idle gaps, same moment of a shared machine), then back to back with
 *   classic pub/sub and a blocking list pop (LPUSH → BLPOP), client to
 *   client: the floor.
 * - Redis commands/s while 1, 200 and 10,000 retrieved waits are pending
 *   (INFO stats total_commands_processed, over 3 s).
 * - cancel → the owner's fiber interrupted.
 * - stash + retrieve + wait round trips per second, one after another, and
 *   the Redis commands each costs.
 * - a burst: 500 results of 4 owner stores (in another process:
 *   bench/burst-owners.ts) complete at once, 4 retriever stores here
 *   waiting: each work's end → its wait resolved, p50/p99, and Redis
 *   commands per result, alternated with three peers: Effect's own floor
 *   (the same 500 works in the same reactors there, each handing its Exit
 *   to a bare client that sends a tick's Exits in one SPUBLISH, and 500
 *   fibers here in the same reactors, each waiting on a Deferred that the
 *   message completes: no store, no records), the store's publish scripts
 *   for 500 claimed records sent at once by 4 bare node-redis clients there
 *   to 4 subscribed clients here, and 500 `SPUBLISH` sent the same way.
 * - BullMQ (`queue.add` + `job.waitUntilFinished`) on the same Redis,
 *   alternated with the store in blocks: round trips/s, and completion →
 *   waiter p50/p99 with both completing in one process of their own
 *   (bench/worker-process.ts: BullMQ's Worker, and the store's owner), as
 *   deployed and timed by one clock, with a bare SPUBLISH from there as the floor.
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import { Queue, QueueEvents } from "bullmq"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { createClient, createCluster } from "redis"
import { testOptions } from "../packages/redis-store/test/fixtures/options.ts"
import { startCluster, startRedis } from "../packages/redis-store/test/helpers.ts"

const rounds = Number(process.env.BENCH_ROUNDS ?? 300)
/** BENCH_ONLY=burst,bullmq runs those sections alone (wake, cancel, idle, throughput, burst, bullmq); all by default. */
const only = process.env.BENCH_ONLY?.split(",")
const section = (name: string) => only === undefined || only.includes(name)
const server = await startRedis()
const options: RedisResultStore.Options = { url: server.url }
const owner = RedisResultStore.make(options)
const retriever = RedisResultStore.make(options)
// A fresh layer object per reactor: `setup` shares reactors set up with the same layer.
const a = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: owner, logLevel: "None" })
const b = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: retriever, logLevel: "None" })
/**
 * The bench's own clients (and their duplicates) run without node-redis's per-command timer, as the store
 * does: that timer (an `AbortSignal.timeout`, 5 s) fires after every reply too, and makes an error with its
 * stack then, inside whichever measurement is running 5 s later.
 */
const noTimer = { timeout: 0 }
const raw = createClient({ url: server.url, commandOptions: noTimer })
await raw.connect()

const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  const sorted = [...samples].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}
const ms = (value: number) => `${value.toFixed(2)} ms`
const pause = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
const commandsProcessed = async (): Promise<number> =>
  Number(/total_commands_processed:(\d+)/.exec(await raw.info("stats"))![1])

/** Until Redis is quiet (the background work of the previous step is done): under 100 commands in 500 ms. */
const settle = async () => {
  for (let i = 0; i < 60; i++) {
    const start = await commandsProcessed()
    await pause(500)
    if (await commandsProcessed() - start < 100) return
  }
}

const latch = () => {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { effect: Effect.promise(() => promise), open }
}

type HGet = (key: string, field: string) => Promise<string | null>

/** Until the retriever's claim has landed (its wait is then woken by the owner's publish, nothing else). */
const claimed = async (id: string, hGet: HGet = (key, field) => raw.hGet(key, field)) => {
  while ((await hGet(`crochet:{${id}}:r`, "waiter")) === null) await pause(1)
}

/** A client-to-client SPUBLISH → SSUBSCRIBE delivery over `client`, timed by `sample()`. */
const spublishPeer = async (
  client: {
    sPublish: (channel: string, message: string) => Promise<unknown>
    sSubscribe: (channel: string, listener: () => void) => Promise<unknown>
  }
) => {
  let received: (() => void) | undefined
  await client.sSubscribe("bench:peer", () => received?.())
  return async () => {
    const arrived = new Promise<void>((resolve) => {
      received = resolve
    })
    const start = performance.now()
    await client.sPublish("bench:peer", "x")
    await arrived
    return performance.now() - start
  }
}

/**
 * Owner `from` completes work that `to` waits for: the time until `to`'s wait resolves. Each round also
 * times one `peer` delivery after the same kind of idle gap, so that both see the same machine.
 */
const wakeTimes = async (
  from: Reactor.Reactor<never>,
  to: Reactor.Reactor<never>,
  count: number,
  peer: () => Promise<number>,
  hGet?: HGet
) => {
  const samples: Array<number> = []
  const peers: Array<number> = []
  for (let i = 0; i < count; i++) {
    const work = latch()
    // From the moment the work's code ended (as BullMQ's is timed), not from the latch's opening: the fiber's
    // resumption in between is Effect's scheduling, not the store's.
    let ended = 0
    const id = from.runInReactor(work.effect.pipe(Effect.andThen(Effect.sync(() => (ended = performance.now())))))
      .stash()
    const waited = to.retrieve(id).wait({ timeout: "10 seconds" })
    await claimed(id, hGet)
    // And a moment more: the owner has heard who claimed it (a wait that is pending, not one claimed a few
    // microseconds ago, whose wake-up the owner finds in its publish's reply: a round trip more).
    await pause(1)
    work.open()
    await waited
    samples.push(performance.now() - ended)
    await pause(1)
    peers.push(await peer())
  }
  return { samples, peers }
}

const median = (values: ReadonlyArray<number>) => percentile(values, 50)
const now = () => performance.timeOrigin + performance.now()

/**
 * A bench process of its own (bench/<file>), talked to in JSON lines once it said it is ready, and how far
 * its clock is ahead of ours: each process's `performance.timeOrigin` comes from the wall clock when it started, which may have
 * been stepped in between. The offset is taken from the quickest of 20 "clock" round trips (within half of it).
 */
const child = async (file: string, args: ReadonlyArray<string>) => {
  // With this process's flags: `node --cpu-prof bench/redis.ts` profiles the children too.
  const spawned = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL(file, import.meta.url)), ...args],
    {
      stdio: ["pipe", "pipe", "inherit"]
    }
  )
  const lines = createInterface({ input: spawned.stdout! })[Symbol.asyncIterator]()
  const next = async () => JSON.parse((await lines.next()).value as string)
  const tell = (command: string) => spawned.stdin!.write(`${command}\n`)
  const ask = async (command: string) => {
    tell(command)
    return next()
  }
  await next()
  let best = { roundTrip: Infinity, offset: 0 }
  for (let i = 0; i < 20; i++) {
    const sent = now()
    const { clock } = await ask("clock") as { clock: number }
    const received = now()
    if (received - sent < best.roundTrip) best = { roundTrip: received - sent, offset: clock - (sent + received) / 2 }
  }
  const end = async () => {
    spawned.stdin!.end()
    await new Promise((resolve) => spawned.once("exit", resolve))
  }
  /** At most this far off: half the quickest round trip. */
  return { ask, tell, next, offset: best.offset, offsetError: best.roundTrip / 2, end }
}

// --- completion → remote wake -----------------------------------------------------------
if (section("wake")) {
  const subscriber = raw.duplicate()
  await subscriber.connect()
  const wakes = await wakeTimes(
    a,
    b,
    rounds,
    await spublishPeer({
      sPublish: (channel, message) => raw.sPublish(channel, message),
      sSubscribe: (channel, listener) => subscriber.sSubscribe(channel, listener)
    })
  )
  subscriber.destroy()

  // The same on a 3-node Redis Cluster (results spread over the nodes).
  const cluster = await startCluster()
  const clusterOptions = testOptions(cluster.target)
  const clusterStores = [RedisResultStore.make(clusterOptions), RedisResultStore.make(clusterOptions)]
  const [ca, cb] = clusterStores.map((store) =>
    Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
  )
  const clusterRaw = createCluster({
    rootNodes: cluster.urls.map((url) => ({ url })),
    commandOptions: noTimer
  })
  await clusterRaw.connect()
  const clusterWakes = await wakeTimes(
    ca!,
    cb!,
    rounds,
    await spublishPeer({
      sPublish: (channel, message) => clusterRaw.sPublish(channel, message),
      sSubscribe: (channel, listener) => clusterRaw.sSubscribe(channel, listener)
    }),
    (key, field) => clusterRaw.hGet(key, field)
  )
  await ca!.shutdown()
  await cb!.shutdown()
  for (const store of clusterStores) await store.close()
  clusterRaw.destroy()
  await cluster.stop()

  /** Client-to-client delivery over Redis itself, for comparison. */
  const floor = async (
    name: string,
    setup: (receive: () => void) => Promise<{ send: () => Promise<unknown>; close: () => void }>
  ) => {
    const samples: Array<number> = []
    let received: (() => void) | undefined
    const { close, send } = await setup(() => received?.())
    for (let i = 0; i < rounds; i++) {
      const arrived = new Promise<void>((resolve) => {
        received = resolve
      })
      const start = performance.now()
      await send()
      await arrived
      samples.push(performance.now() - start)
    }
    close()
    return { name, samples }
  }
  const floors = [
    await floor("node-redis SPUBLISH → SSUBSCRIBE (sharded pub/sub, what the store uses)", async (receive) => {
      const subscriber = raw.duplicate()
      await subscriber.connect()
      await subscriber.sSubscribe("bench:s", receive)
      return { send: () => raw.sPublish("bench:s", "x"), close: () => subscriber.destroy() }
    }),
    await floor("node-redis PUBLISH → SUBSCRIBE (classic pub/sub)", async (receive) => {
      const subscriber = raw.duplicate()
      await subscriber.connect()
      await subscriber.subscribe("bench:c", receive)
      return { send: () => raw.publish("bench:c", "x"), close: () => subscriber.destroy() }
    }),
    await floor("node-redis LPUSH → BLPOP (blocking list pop, one connection per waiter)", async (receive) => {
      const popper = raw.duplicate()
      await popper.connect()
      void (async () => {
        while (popper.isOpen) {
          const popped = await popper.blPop("bench:l", 0).catch(() => null)
          if (popped !== null) receive()
        }
      })()
      return { send: () => raw.lPush("bench:l", "x"), close: () => popper.destroy() }
    })
  ]

  console.log(`\nCompletion → remote wake (${rounds} rounds, localhost)`)
  console.log("| path | p50 | p99 |")
  console.log("|---|---:|---:|")
  const row = (name: string, samples: ReadonlyArray<number>) =>
    console.log(`| ${name} | ${ms(percentile(samples, 50))} | ${ms(percentile(samples, 99))} |`)
  row("RedisResultStore: owner completes → retriever's wait resolves", wakes.samples)
  row("↳ node-redis SPUBLISH → SSUBSCRIBE, one after each of those rounds (same idle gaps)", wakes.peers)
  row("the same on a 3-node Redis Cluster", clusterWakes.samples)
  row("↳ node-redis cluster SPUBLISH → SSUBSCRIBE, one after each of those rounds", clusterWakes.peers)
  for (const { name, samples } of floors) row(`${name}, back to back`, samples)
}

// --- cancel → owner interrupted --------------------------------------------------------------
if (section("cancel")) {
  const cancels: Array<number> = []
  for (let i = 0; i < Math.min(rounds, 200); i++) {
    let interrupted!: () => void
    const done = new Promise<number>((resolve) => {
      interrupted = () => resolve(performance.now())
    })
    const id = a.runInReactor(Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(interrupted)))).stash()
    const result = b.retrieve(id)
    await claimed(id)
    // The owner has started (its record names it): the cancel goes to its channel.
    while ((await raw.hGet(`crochet:{${id}}:r`, "state")) !== "pending") await pause(1)
    const start = performance.now()
    result.cancel()
    cancels.push((await done) - start)
  }
  console.log(`\nRetriever's cancel() → owner's fiber interrupted (${cancels.length} rounds)`)
  console.log("| p50 | p99 |")
  console.log("|---:|---:|")
  console.log(`| ${ms(percentile(cancels, 50))} | ${ms(percentile(cancels, 99))} |`)
}

// --- idle traffic with pending waits ---------------------------------------------------------
if (section("idle")) {
  console.log(
    "\nRedis traffic while retrieved waits are pending (both stores, over 3 s once settled; the owner's work never ends; " +
      "INFO total_commands_processed, which counts the commands inside scripts)"
  )
  console.log("| pending waits | Redis commands/s | connections (both stores) |")
  console.log("|---:|---:|---:|")
  for (const count of [1, 200, 10_000]) {
    const results = []
    let last = ""
    for (let i = 0; i < count; i++) {
      last = a.runInReactor(Effect.never).stash()
      results.push(b.retrieve(last))
    }
    // Claims are sent in order on one connection: the last one landed, all have.
    await claimed(last)
    await settle()
    const start = await commandsProcessed()
    const startedAt = performance.now()
    await pause(3_000)
    // Minus the INFO command this bench sent.
    const perSecond = (await commandsProcessed() - start - 1) / ((performance.now() - startedAt) / 1000)
    // Minus this bench's own connection.
    const connections = Number(/connected_clients:(\d+)/.exec(await raw.info("clients"))![1]) - 1
    console.log(`| ${count.toLocaleString("en")} | ${perSecond.toFixed(1)} | ${connections} |`)
    for (const result of results) result.cancel()
    await Promise.all(results.map((result) => result.wait().catch(() => undefined)))
    await settle()
  }
}

// --- throughput ----------------------------------------------------------------------------
if (section("throughput")) {
  const trips = 2_000
  await settle()
  await raw.sendCommand(["CONFIG", "RESETSTAT"])
  const started = performance.now()
  for (let i = 0; i < trips; i++) {
    await b.retrieve(a.runInReactor(Effect.succeed(i)).stash()).wait({ timeout: "10 seconds" })
  }
  const seconds = (performance.now() - started) / 1000
  const calls = new Map<string, number>()
  for (const [, name, count] of (await raw.info("commandstats")).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    calls.set(name!, Number(count))
  }
  const scripts = (calls.get("evalsha") ?? 0) + (calls.get("eval") ?? 0)
  const operations = [...calls].reduce((sum, [name, count]) => name === "config|resetstat" ? sum : sum + count, 0)
  console.log(
    `\nStash + retrieve + wait, one after another (${trips.toLocaleString("en")} round trips, a value done at stash)`
  )
  console.log(
    "| round trips/s | scripts per round trip | SPUBLISH per round trip | Redis operations per round trip (inside scripts too) |"
  )
  console.log("|---:|---:|---:|---:|")
  console.log(
    `| ${Math.round(trips / seconds).toLocaleString("en")} | ${(scripts / trips).toFixed(2)} | ${
      ((calls.get("spublish") ?? 0) / trips).toFixed(2)
    } | ${(operations / trips).toFixed(1)} |`
  )
}

// --- a burst of completions -----------------------------------------------------------------
if (section("burst")) {
  const bursts = { count: 500, stores: 4, rounds: 5 }
  // The owners (and the floors' publishers) in a process of their own; the retrievers (and the floors' subscribers) here.
  const owners = await child("burst-owners.ts", [server.url, String(bursts.count), String(bursts.stores)])
  const ours = (theirs: number) => theirs - owners.offset
  const burstRetrievers = Array.from({ length: bursts.stores }, () => RedisResultStore.make(options))
  const burstB = burstRetrievers.map((store) =>
    Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
  )

  /**
   * `count` results of the owners complete at once (their work waits on one gate); each result's time from
   * the moment its work's code ended, in the owners' process, to the moment its `wait()` resolved here.
   */
  const storeBurst = async () => {
    const { ids } = await owners.ask("stash") as { ids: Array<string> }
    const woken = ids.map((id, i) => burstB[i % bursts.stores]!.retrieve(id).wait().then(now))
    await claimed(ids[ids.length - 1]!)
    await settle()
    await raw.sendCommand(["CONFIG", "RESETSTAT"])
    await owners.ask("go")
    const { completedAt } = await owners.next() as { completedAt: Array<number> }
    const wokenAt = await Promise.all(woken)
    // Every command of the burst, the publish scripts that follow the wake-ups too.
    await owners.ask("published")
    const commands = Number(/total_commands_processed:(\d+)/.exec(await raw.info("stats"))![1]) - 1
    return {
      samples: wokenAt.map((at, i) => at - ours(completedAt[i]!)),
      commandsPerResult: commands / bursts.count
    }
  }

  /**
   * Floors: `count` results sent at once from the owners' process to 4 subscribed clients here, a message
   * each or (the scripts' "d [[id, exit], ...]") several to a message; each result's time from the send.
   */
  let onFloorMessage: (results: number) => void = () => undefined
  const arrivals = (send: () => Promise<{ at: number }>) => async () => {
    const arrived: Array<number> = []
    const all = new Promise<void>((resolve) => {
      onFloorMessage = (results) => {
        const at = now()
        for (let i = 0; i < results; i++) arrived.push(at)
        if (arrived.length === bursts.count) resolve()
      }
    })
    const { at } = await send()
    await all
    return arrived.map((arrival) => arrival - ours(at))
  }
  const countScriptMessages = (message: string) =>
    onFloorMessage((JSON.parse(message.slice(2)) as Array<unknown>).length)
  /** Where the scripts' wake-ups ("d [[id, exit], ...]") go: counted, or (effect+script) completing the waits. */
  let onScriptMessage: (message: string) => void = countScriptMessages
  /** Where the effect floor's messages go: set by each of its rounds. */
  let onEffectMessage: (message: string) => void = () => undefined
  const subscribers = await Promise.all(Array.from({ length: bursts.stores }, async (_, n) => {
    const client = raw.duplicate()
    await client.connect()
    await client.sSubscribe(`bench:burst:${n}`, () => onFloorMessage(1))
    await client.sSubscribe(`bench:floor:p:floor-${n}`, (message) => onScriptMessage(message))
    await client.sSubscribe(`bench:effect:${n}`, (message) => onEffectMessage(message))
    return client
  }))
  /** Effect's floor: the same works and waits, with no store between them (see burst-owners.ts's "effect"). */
  const effectBurst = async () => {
    const deferreds = Array.from({ length: bursts.count }, () => Deferred.makeUnsafe<number>())
    const woken = deferreds.map((deferred, i) =>
      burstB[i % bursts.stores]!.runInReactor(Deferred.await(deferred)).wait().then(now)
    )
    onEffectMessage = (message) => {
      for (const [i, exit] of JSON.parse(message) as Array<[number, string]>) {
        Deferred.doneUnsafe(deferreds[i]!, Exit.succeed((JSON.parse(exit) as { value: number }).value))
      }
    }
    await owners.ask("effect")
    await settle()
    await owners.ask("go")
    const { completedAt } = await owners.next() as { completedAt: Array<number> }
    const wokenAt = await Promise.all(woken)
    return wokenAt.map((at, i) => at - ours(completedAt[i]!))
  }
  /**
   * Effect's floor with the store's Redis work: the same works and waits, the Exits sent as the store's
   * publish scripts over claimed records, whose wake-ups complete the waits (none of the store's JavaScript).
   */
  const effectScriptBurst = async () => {
    const { ids } = await owners.ask(`effect+script ${subscribers.map((_, n) => `floor-${n}`).join(",")}`) as {
      ids: Array<string>
    }
    const deferreds = new Map(ids.map((id) => [id, Deferred.makeUnsafe<number>()]))
    const woken = ids.map((id, i) =>
      burstB[i % bursts.stores]!.runInReactor(Deferred.await(deferreds.get(id)!)).wait().then(now)
    )
    onScriptMessage = (message) => {
      for (const [id, exit] of JSON.parse(message.slice(2)) as Array<[string, string]>) {
        Deferred.doneUnsafe(deferreds.get(id)!, Exit.succeed((JSON.parse(exit) as { value: number }).value))
      }
    }
    await settle()
    await owners.ask("go")
    const { completedAt } = await owners.next() as { completedAt: Array<number> }
    const wokenAt = await Promise.all(woken)
    onScriptMessage = countScriptMessages
    return wokenAt.map((at, i) => at - ours(completedAt[i]!))
  }
  const spublishBurst = arrivals(() => owners.ask("spublish"))
  const scriptBurst = arrivals(async () => {
    await owners.ask(`script ${subscribers.map((_, n) => `floor-${n}`).join(",")}`)
    return owners.ask("fire")
  })

  const burstRows: Array<
    {
      readonly store: ReadonlyArray<number>
      readonly effect: ReadonlyArray<number>
      readonly effectScript: ReadonlyArray<number>
      readonly script: ReadonlyArray<number>
      readonly spublish: ReadonlyArray<number>
      readonly commands: number
    }
  > = []
  for (let round = 0; round < bursts.rounds; round++) {
    const { commandsPerResult, samples } = await storeBurst()
    await settle()
    const effect = await effectBurst()
    await settle()
    const effectScript = await effectScriptBurst()
    await settle()
    const script = await scriptBurst()
    await settle()
    burstRows.push({
      store: samples,
      effect,
      effectScript,
      script,
      spublish: await spublishBurst(),
      commands: commandsPerResult
    })
  }
  console.log(
    `\nA burst: ${bursts.count} results of ${bursts.stores} owner stores (in another process) complete at once, ` +
      `${bursts.stores} retriever stores here waiting (medians over ${bursts.rounds} alternated rounds)`
  )
  console.log("| path | p50 | p99 | Redis commands per result |")
  console.log("|---|---:|---:|---:|")
  const burstMedian = (pick: (row: (typeof burstRows)[number]) => ReadonlyArray<number>, p: number) =>
    median(burstRows.map((row) => percentile(pick(row), p)))
  const burstRow = (name: string, pick: (row: (typeof burstRows)[number]) => ReadonlyArray<number>, commands: string) =>
    console.log(`| ${name} | ${ms(burstMedian(pick, 50))} | ${ms(burstMedian(pick, 99))} | ${commands} |`)
  burstRow(
    "RedisResultStore: each work's end → its retriever's wait resolved",
    (row) => row.store,
    median(burstRows.map((row) => row.commands)).toFixed(2)
  )
  burstRow(
    "Effect's floor: each work's end → a fiber's Deferred completed by a tick's Exits in one SPUBLISH, no store",
    (row) => row.effect,
    "1 per tick"
  )
  burstRow(
    "Effect's floor with the store's Redis work: the same, each tick's Exits sent as the store's publish scripts " +
      "over claimed records, whose wake-ups complete the Deferreds",
    (row) => row.effectScript,
    "the script's"
  )
  burstRow(
    `floor: the store's publish scripts for ${bursts.count} results, sent at once by bare clients → subscribed clients`,
    (row) => row.script,
    "the script's"
  )
  burstRow(
    `node-redis: ${bursts.count} SPUBLISH from ${bursts.stores} clients at once → subscribed clients`,
    (row) => row.spublish,
    "1"
  )
  /** The store's time over a floor's, round by round (median), at p50 and p99. */
  const over = (floor: (row: (typeof burstRows)[number]) => ReadonlyArray<number>) =>
    [50, 99].map((p) =>
      `p${p} ${median(burstRows.map((row) => percentile(row.store, p) / percentile(floor(row), p))).toFixed(2)}×`
    ).join(", ")
  console.log(`store ÷ Effect's floor, round by round (median): ${over((row) => row.effect)}`)
  console.log(`store ÷ Effect's floor with the store's Redis work (median): ${over((row) => row.effectScript)}`)
  await owners.end()
  for (const client of subscribers) client.destroy()
  for (const reactor of burstB) await reactor.shutdown()
  for (const store of burstRetrievers) await store.close()
}

// --- BullMQ --------------------------------------------------------------------------------
if (section("bullmq")) {
  const connection = { host: "127.0.0.1", port: server.port }
  const queue = new Queue("bench", { connection })
  const queueEvents = new QueueEvents("bench", { connection })
  await queueEvents.waitUntilReady()
  // BullMQ's Worker and the store's owner, both in one process of their own (as deployed), timed by one clock.
  const worker = await child("worker-process.ts", [String(server.port)])

  const blocks = { count: 5, trips: 300, wakes: 100 }
  const bullTrips = async (trips: number) => {
    const start = performance.now()
    for (let i = 0; i < trips; i++) await (await queue.add("x", { i })).waitUntilFinished(queueEvents)
    return trips / ((performance.now() - start) / 1000)
  }
  const storeTrips = async (trips: number) => {
    const start = performance.now()
    for (let i = 0; i < trips; i++) {
      await b.retrieve(a.runInReactor(Effect.succeed(i)).stash()).wait({ timeout: "10 seconds" })
    }
    return trips / ((performance.now() - start) / 1000)
  }
  const bullWakes = async (count: number) => {
    const samples: Array<number> = []
    for (let i = 0; i < count; i++) {
      const { completedAt } = await (await queue.add("x", { i })).waitUntilFinished(queueEvents) as {
        completedAt: number
      }
      samples.push(now() - (completedAt - worker.offset))
      await pause(1)
    }
    return samples
  }
  /** The store's wake-ups: work stashed in the Worker's process completes there, and is waited for here. */
  const storeWakes = async (count: number) => {
    const samples: Array<number> = []
    for (let i = 0; i < count; i++) {
      const { id } = await worker.ask("stash") as { id: string }
      const woken = b.retrieve(id).wait({ timeout: "10 seconds" }).then(now)
      await claimed(id)
      await pause(1)
      // Asked for its end time once the wait resolved: that process does nothing else meanwhile, as BullMQ's Worker.
      worker.tell("go")
      const at = await woken
      const { completedAt } = await worker.ask("completed") as { completedAt: number }
      samples.push(at - (completedAt - worker.offset))
      await pause(1)
    }
    return samples
  }
  // The platform's floor for a wake-up: a bare node-redis SPUBLISH from the Worker's process → SSUBSCRIBE here.
  const subscriber = raw.duplicate()
  await subscriber.connect()
  let arrived: (() => void) | undefined
  await subscriber.sSubscribe("bench:peer", () => arrived?.())
  const floorWakes = async (count: number) => {
    const samples: Array<number> = []
    for (let i = 0; i < count; i++) {
      const received = new Promise<number>((resolve) => {
        arrived = () => resolve(now())
      })
      const { at } = await worker.ask("spublish bench:peer") as { at: number }
      samples.push(await received - (at - worker.offset))
      await pause(1)
    }
    return samples
  }
  const rates = { store: [] as Array<number>, bullmq: [] as Array<number> }
  const wakeSamples = { store: [] as Array<number>, bullmq: [] as Array<number>, floor: [] as Array<number> }
  await bullTrips(50)
  await storeTrips(50)
  for (let block = 0; block < blocks.count; block++) {
    rates.bullmq.push(await bullTrips(blocks.trips))
    rates.store.push(await storeTrips(blocks.trips))
    wakeSamples.bullmq.push(...await bullWakes(blocks.wakes))
    wakeSamples.store.push(...await storeWakes(blocks.wakes))
    wakeSamples.floor.push(...await floorWakes(blocks.wakes))
  }
  subscriber.destroy()
  await worker.end()
  await queueEvents.close()
  await queue.close()
  const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}×`
  console.log(
    `\nBullMQ ${
      JSON.parse(
        await import("node:fs").then((fs) =>
          fs.readFileSync(fileURLToPath(import.meta.resolve("bullmq/package.json")), "utf8")
        )
      ).version
    } ` +
      `(queue.add + job.waitUntilFinished) against the store, the same Redis, alternated: ${blocks.count} blocks of ` +
      `${blocks.trips} round trips (median; the store's two sides both in this process) and of ${blocks.wakes} wake-ups ` +
      `(each from the end of the work's code in one process of their own, BullMQ's Worker's and the store's owner's, ` +
      `to the waiter here; the clocks' offset is the same for all three and within ±${ms(worker.offsetError)})`
  )
  console.log("| | round trips/s | completion → waiter p50 | p99 |")
  console.log("|---|---:|---:|---:|")
  const row = (name: string, trips: string, samples: ReadonlyArray<number>) =>
    console.log(`| ${name} | ${trips} | ${ms(percentile(samples, 50))} | ${ms(percentile(samples, 99))} |`)
  row("RedisResultStore", Math.round(median(rates.store)).toLocaleString("en"), wakeSamples.store)
  row("BullMQ", Math.round(median(rates.bullmq)).toLocaleString("en"), wakeSamples.bullmq)
  row("↳ floor: a bare node-redis SPUBLISH from that process → SSUBSCRIBE here", "", wakeSamples.floor)
  /** BullMQ's figure over another's (above 1: the other is quicker), at p50 and p99. */
  const over = (samples: ReadonlyArray<number>) =>
    [50, 99].map((p) => ratio(percentile(wakeSamples.bullmq, p), percentile(samples, p))).join(" | ")
  console.log(
    `| BullMQ's wake-up ÷ the floor's (a bare message: no work, no store around it) | | ${over(wakeSamples.floor)} |`
  )
  console.log(
    `| store ÷ BullMQ (round trips), BullMQ's ÷ the store's (wake-ups) | ${
      ratio(median(rates.store), median(rates.bullmq))
    } | ${over(wakeSamples.store)} |`
  )
}

await a.shutdown()
await b.shutdown()
await owner.close()
await retriever.close()
raw.destroy()
await server.stop()
