/**
 * Production faults on a real Redis Cluster: a master down with no replica
 * (`cluster-require-full-coverage no`), a failover to a replica, and slots
 * moved under pending waits while results complete.
 */
import { type RedisResultStore, StoreUnavailable } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import { createClient, createCluster } from "redis"
import { afterAll, describe, expect, it } from "vitest"
import { testOptions } from "./fixtures/options.ts"
import {
  type ClusterNode,
  crossProcess,
  eventually,
  latch,
  type RedisCluster,
  rejection,
  startCluster
} from "./helpers.ts"

let cluster: RedisCluster | undefined
const { cleanUp, reactorWithStore } = crossProcess(() => cluster!.target)
const clusters: Array<RedisCluster> = []

const cleanups: Array<() => void> = []

afterAll(async () => {
  for (const cleanup of cleanups) cleanup()
  await cleanUp()
  for (const started of clusters) await started.stop()
}, 60_000)

const start = async (options: Parameters<typeof startCluster>[0]) => {
  cluster = await startCluster(options)
  clusters.push(cluster)
  return cluster
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** One command to one node. */
const on = async <A>(node: ClusterNode | string, args: ReadonlyArray<string>): Promise<A> => {
  const client = createClient({
    url: typeof node === "string" ? `redis://${node}` : node.url,
    socket: { reconnectStrategy: false }
  })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await client.sendCommand([...args]) as A
  } finally {
    client.destroy()
  }
}

/** Which master serves each slot, by address, as `node` sees it. */
const slotOwners = async (node: ClusterNode): Promise<Map<number, string>> => {
  const owners = new Map<number, string>()
  for (
    const [from, to, [host, port]] of await on<Array<[number, number, [string, number]]>>(node, ["CLUSTER", "SLOTS"])
  ) {
    for (let slot = from; slot <= to; slot++) owners.set(slot, `${host}:${port}`)
  }
  return owners
}

const slotOf = (node: ClusterNode, key: string) => on<number>(node, ["CLUSTER", "KEYSLOT", key])

describe("one master of three down, no replica (cluster-require-full-coverage no)", () => {
  it(
    "ids on healthy shards keep working; ids on the dead shard fail with StoreUnavailable naming it within commandTimeout, and work again once it is back",
    async () => {
      const { nodes } = await start({
        args: ["--cluster-require-full-coverage", "no", "--cluster-node-timeout", "1000"]
      })
      const a = reactorWithStore()
      const b = reactorWithStore()
      // Both stores connected and subscribed before the fault.
      expect(await b.reactor.retrieve(a.reactor.runInReactor(Effect.succeed(0)).stash()).wait({ timeout: "5 seconds" }))
        .toBe(0)
      const dead = nodes[2]!
      const owners = await slotOwners(nodes[0]!)
      await dead.kill()
      const healthy: Array<string> = []
      const onDead: Array<string> = []
      for (let i = 0; healthy.length < 6 || onDead.length < 3; i++) {
        const id = a.reactor.runInReactor(Effect.sleep("50 millis").pipe(Effect.as(i))).stash()
        const slot = await slotOf(nodes[0]!, `crochet:{${id}}:r`)
        ;(owners.get(slot) === dead.address ? onDead : healthy).push(id)
      }
      const healthyValues = await Promise.all(
        healthy.map((id) => b.reactor.retrieve(id).wait({ timeout: "5 seconds" }))
      )
      expect(healthyValues.every((value) => typeof value === "number")).toBe(true)
      for (const id of onDead) {
        const started = Date.now()
        const error = await rejection(b.reactor.retrieve(id).wait({ timeout: "10 seconds" }))
        expect(error).toBeInstanceOf(StoreUnavailable)
        expect(error.message).toContain(String(dead.port))
        // commandTimeout is 2 s in testOptions.
        expect(Date.now() - started).toBeLessThan(2_000)
      }
      await dead.start()
      await eventually(async () => (await on<string>(dead, ["CLUSTER", "INFO"])).includes("cluster_state:ok"))
      const revived: Array<string> = []
      for (let i = 0; revived.length < 3; i++) {
        const id = a.reactor.runInReactor(Effect.sleep("50 millis").pipe(Effect.as(`back ${i}`))).stash()
        if (owners.get(await slotOf(nodes[0]!, `crochet:{${id}}:r`)) === dead.address) revived.push(id)
        else await b.reactor.retrieve(id).wait({ timeout: "5 seconds" })
      }
      for (const id of revived) expect(await b.reactor.retrieve(id).wait({ timeout: "5 seconds" })).toMatch(/^back /)
    },
    60_000
  )
})

describe("failover to a replica (6 nodes, cluster-node-timeout 1000)", () => {
  it(
    "a pending wait resolves with the owner's value, finished while the failover happens; reports the time to recovery",
    async () => {
      const { nodes } = await start({ replicas: 1, args: ["--cluster-node-timeout", "1000"] })
      // The owner's publish rides out the failover (2-3 s): ownerLostAfter is longer than that.
      const options: RedisResultStore.Options = {
        ...testOptions(cluster!.target),
        ownerHeartbeat: "500 millis",
        ownerLostAfter: "6 seconds",
        commandTimeout: "1 second"
      }
      const a = reactorWithStore(options)
      const b = reactorWithStore(options)
      expect(await b.reactor.retrieve(a.reactor.runInReactor(Effect.succeed(0)).stash()).wait({ timeout: "5 seconds" }))
        .toBe(0)
      const work = latch<string>()
      const id = a.reactor.runInReactor(work.effect).stash()
      const result = b.reactor.retrieve(id)
      await rejection(result.wait({ timeout: "300 millis" }))
      // The master of the result's slot, once its replica has everything.
      const owners = await slotOwners(nodes[0]!)
      const slot = await slotOf(nodes[0]!, `crochet:{${id}}:r`)
      const victim = nodes.find((node) => node.address === owners.get(slot))!
      const survivor = nodes.find((node) => node !== victim)!
      // The record written and claimed before its copy is checked: Redis replicates after it replies, so a
      // write that lands after the check can die with the master (the wait would then get ResultNotFound).
      const record = `crochet:{${id}}:r`
      await eventually(async () => {
        const [state, waiter] = await on<Array<string | null>>(victim, ["HMGET", record, "state", "waiter"])
        return state === "pending" && waiter !== null
      })
      await eventually(async () => {
        const info = await on<string>(victim, ["INFO", "replication"])
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
        return offset !== undefined && new RegExp(`slave0:.*offset=${offset},`).test(info)
      })
      await victim.kill()
      const killed = Date.now()
      work.open("after the failover")
      // Meanwhile, ids on the other shards are served as if nothing happened.
      const elsewhere: Array<string> = []
      while (elsewhere.length < 5) {
        const other = a.reactor.runInReactor(Effect.succeed(elsewhere.length)).stash()
        if (owners.get(await slotOf(survivor, `crochet:{${other}}:r`)) === victim.address) continue
        const asked = Date.now()
        expect(await b.reactor.retrieve(other).wait({ timeout: "5 seconds" })).toBe(elsewhere.length)
        // Well below the failover itself (2-3 s with cluster-node-timeout 1000): these do not wait for it.
        expect(Date.now() - asked).toBeLessThan(1_000)
        elsewhere.push(other)
      }
      expect(await result.wait({ timeout: "15 seconds" })).toBe("after the failover")
      // The wake-up carries the value to the retriever's channel (a live node), so this comes before the failover.
      const woken = Date.now() - killed
      // And the failed shard serves new work once its replica took over: the time to recovery.
      for (let i = 0;; i++) {
        const again = a.reactor.runInReactor(Effect.succeed(`new work ${i}`)).stash()
        if (owners.get(await slotOf(survivor, `crochet:{${again}}:r`)) !== victim.address) continue
        expect(await b.reactor.retrieve(again).wait({ timeout: "15 seconds" })).toBe(`new work ${i}`)
        break
      }
      const recovered = Date.now() - killed
      console.log(
        `failover: kill → pending wait resolved in ${woken} ms; → the failed shard's ids work again in ${recovered} ms`
      )
      expect(recovered).toBeLessThan(10_000)
    },
    60_000
  )
})

describe("a slot moved under pending waits, racing the completion", () => {
  type Order = "redis-cli" | "gap"
  let movesCluster: RedisCluster | undefined
  /** An open client per node. */
  type Admin = (args: Array<string>) => Promise<unknown>
  let admin: { readonly clients: Map<ClusterNode, Admin> } | undefined
  let migrations = Promise.resolve()
  /**
   * Lanes take turns to hand a slot to its target. The node that takes a slot bumps its config epoch: if it
   * still claimed a slot another lane is moving away from it (its `SETSLOT … NODE` not yet processed), its
   * gossip carries that claim with the higher epoch. Nodes that already moved that slot then give it back,
   * its new master is told to give it up, and it can end with nobody claiming it and the nodes disagreeing
   * for good: the next move of that slot finds no owner, and a cluster client follows `MOVED` in a circle.
   */
  let takeOvers = Promise.resolve()

  /** One 3-master cluster for every round of this describe. */
  const moves = async () => {
    movesCluster ??= await start({})
    cluster = movesCluster
    if (admin === undefined) {
      const clients = new Map<ClusterNode, Admin>()
      for (const node of movesCluster.nodes) {
        const client = createClient({ url: node.url })
        await client.connect()
        cleanups.push(() => client.destroy())
        clients.set(node, (args) => client.sendCommand(args))
      }
      admin = { clients }
    }
    return movesCluster
  }

  /** Slots being moved, each with the end of its move: two lanes whose keys share a slot take turns. */
  const moving = new Map<number, Promise<void>>()
  const reserve = async (slot: number): Promise<() => void> => {
    while (moving.has(slot)) await moving.get(slot)
    let release!: () => void
    moving.set(
      slot,
      new Promise<void>((resolve) => {
        release = () => {
          moving.delete(slot)
          resolve()
        }
      })
    )
    return release
  }

  /**
   * Gets `slot` ready to move from its master to another (the target importing it, the source migrating
   * it, its keys migrated), as `redis-cli --cluster reshard` does. Resolves with the switch-over: the
   * target takes the slot, then the source gives it up (redis-cli's order), or the source gives it up
   * 200 ms before the target takes it (`gap`).
   */
  const prepareMove = async (nodes: ReadonlyArray<ClusterNode>, slot: number, order: Order) => {
    const { clients } = admin!
    const run = <A>(node: ClusterNode, args: ReadonlyArray<string>) => clients.get(node)!([...args]) as Promise<A>
    // Moves of other lanes bump config epochs at the same time, and gossip can still hand the slot back to a
    // node that served it before: the move starts from a slot every node agrees about, and starts again if
    // the slot changed hands meanwhile (IMPORTING on a node that already serves it is refused).
    for (;;) {
      const source = await agreedOwner(slot, 1_500)
      if (source === undefined) {
        throw new Error(`the nodes did not agree who serves slot ${slot} within 30 s:\n${await views(slot)}`)
      }
      const others = nodes.filter((node) => node !== source)
      const target = others[Math.floor(Math.random() * others.length)]!
      const [sourceId, targetId] = await Promise.all(
        [source, target].map((node) => run<string>(node, ["CLUSTER", "MYID"]))
      )
      const marked = await run(target, ["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceId!])
        .then(() => run(source, ["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetId!]))
        .then(() => true, () => false)
      if (!marked) {
        for (const node of [source, target]) await run(node, ["CLUSTER", "SETSLOT", String(slot), "STABLE"])
        await sleep(20)
        continue
      }
      // One MIGRATE at a time: two nodes migrating to each other at once block each other (MIGRATE blocks its node).
      const migrated = migrations.then(async () => {
        for (;;) {
          const keys = await run<Array<string>>(source, ["CLUSTER", "GETKEYSINSLOT", String(slot), "100"])
          if (keys.length === 0) break
          await run(source, ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", ...keys])
        }
      })
      migrations = migrated.catch(() => undefined)
      await migrated
      const assign = (node: ClusterNode) => run(node, ["CLUSTER", "SETSLOT", String(slot), "NODE", targetId!])
      /** The target takes the slot (and bumps its config epoch), until every node agrees: one lane at a time. */
      const takeOver = async () => {
        await assign(target)
        if (order === "redis-cli") await assign(source)
        for (const node of others) if (node !== target) await assign(node)
        // Gossip sent before a node took the new assignment can still hand the slot back for a moment: assigned
        // again until every node agrees the target serves it (looked at every 100 ms: the round's wait is timed).
        for (let tries = 1;; tries++) {
          if (await agreedOwner(slot, 0) === target) return
          if (tries > 300) {
            throw new Error(
              `slot ${slot} was assigned to ${target.address} but not every node agreed within 30 s:\n${await views(
                slot
              )}`
            )
          }
          if (tries % 5 === 0) {
            for (const node of [target, ...others.filter((other) => other !== target), source]) await assign(node)
          }
          await sleep(100)
        }
      }
      return async () => {
        if (order === "gap") {
          await assign(source)
          await sleep(200)
        }
        const turn = takeOvers.then(takeOver)
        takeOvers = turn.catch(() => undefined)
        await turn
      }
    }
  }

  /** The slot ranges a line of CLUSTER NODES lists (not the `[slot->-id]` entries of a slot in migration). */
  const serves = (line: string, slot: number) =>
    line.split(" ").slice(8).some((range) => {
      if (range.startsWith("[")) return false
      const [from, to = from] = range.split("-").map(Number)
      return from! <= slot && slot <= to!
    })

  /**
   * The node that serves `slot` in every node's view and in its own, polled every 20 ms until they agree (at
   * most `tries` polls, then undefined; 0: once).
   */
  async function agreedOwner(slot: number, tries: number): Promise<ClusterNode | undefined> {
    for (let tried = 0;; tried++) {
      const views = new Set<string>()
      for (const [, run] of admin!.clients) {
        const lines = (await run(["CLUSTER", "NODES"]) as string).split("\n")
        views.add(lines.find((line) => serves(line, slot))?.split(" ")[1]?.split("@")[0] ?? "nobody")
      }
      const [address] = views
      if (views.size === 1) {
        const node = movesCluster!.nodes.find((candidate) => candidate.address === address)
        if (node !== undefined) return node
      }
      if (tried >= tries) return undefined
      await sleep(20)
    }
  }

  /** Each node's view of the masters (address, flags, config epoch, serving `slot`?): for a failure's message. */
  const views = async (slot: number): Promise<string> => {
    const lines: Array<string> = []
    for (const [node, run] of admin!.clients) {
      const masters = (await run(["CLUSTER", "NODES"]) as string).split("\n").filter((line) => line.includes("master"))
      lines.push(`${node.address} sees: ${
        masters.map((line) => {
          const [, address, flags, , , , epoch] = line.split(" ")
          return `${address} ${flags} epoch ${epoch}${serves(line, slot) ? " serves it" : ""}`
        }).join("; ")
      }`)
    }
    return lines.join("\n")
  }

  type Kind = "result" | "retriever's channel" | "owner's channel"
  const rounds = 100
  const parallel = 4

  for (const kind of ["result", "retriever's channel", "owner's channel"] as const satisfies ReadonlyArray<Kind>) {
    for (const order of ["redis-cli", "gap"] as const satisfies ReadonlyArray<Order>) {
      it(
        `the ${kind}'s slot, ${
          order === "gap" ? "the source giving it up 200 ms before the target takes it" : "in redis-cli's order"
        }: ${rounds} rounds, no wake-up lost, every wait resolved within 1 s of its completion`,
        async () => {
          const started = await moves()
          const { nodes } = started
          const raw = createCluster({ rootNodes: started.urls.map((url) => ({ url })) })
          await raw.connect()
          try {
            // `parallel` independent lanes, `rounds / parallel` rounds each: a store pair per lane, so that the
            // lanes' channels (one per store) live in different slots.
            // Liveness is not what this tests: a heartbeat that rides out a loaded machine.
            const options = {
              ...testOptions(started.target),
              ownerHeartbeat: "200 millis",
              ownerLostAfter: "3 seconds"
            } as const
            const lanes = Array.from(
              { length: parallel },
              () => ({ a: reactorWithStore(options), b: reactorWithStore(options) })
            )
            const late: Array<string> = []
            /** Each lane's two stores' tokens: their channels. */
            const tokens: Array<ReadonlyArray<string>> = []
            await Promise.all(lanes.map(async ({ a, b }, lane) => {
              for (let round = 0; round < rounds / parallel; round++) {
                const work = latch<string>()
                const id = a.reactor.runInReactor(work.effect).stash()
                const result = b.reactor.retrieve(id)
                const record = `crochet:{${id}}:r`
                await eventually(
                  async () =>
                    (await raw.hGet(record, "waiter")) !== null && (await raw.hGet(record, "state")) === "pending",
                  5_000
                )
                const [ownerToken, waiterToken] = [await raw.hGet(record, "token"), await raw.hGet(record, "waiter")]
                tokens[lane] = [ownerToken!, waiterToken!]
                const token = kind === "owner's channel" ? ownerToken : waiterToken
                const key = kind === "result" ? record : `crochet:p:${token}`
                const slot = await slotOf(nodes[0]!, key)
                const value = `lane ${lane} round ${round}`
                const release = await reserve(slot)
                const switchOver = await prepareMove(nodes, slot, order)
                // The completion, and the slot changing hands 0-3 ms later.
                work.open(value)
                const completed = Date.now()
                await sleep(round % 4)
                const moved = switchOver().then(() => undefined, (error: unknown) => error)
                const outcome = await result.wait({ timeout: "5 seconds" }).then((got) => got, (error) => error)
                const took = Date.now() - completed
                const moveFailed = await moved
                release()
                if (moveFailed !== undefined) throw moveFailed
                if (outcome !== value || took > 1_000) late.push(`${value}: ${String(outcome)} after ${took} ms`)
              }
            }))
            expect(late).toEqual([])
            // No subscription lost: with work pending again, every store's channel has its subscriber (the garbage
            // sent to see it is ignored), every store is still woken, and a cancel still reaches the owner.
            await Promise.all(lanes.map(async ({ a, b }, lane) => {
              const work = latch<string>()
              const result = b.reactor.retrieve(a.reactor.runInReactor(work.effect).stash())
              await rejection(result.wait({ timeout: "100 millis" }))
              for (const token of tokens[lane]!) {
                await eventually(async () => (await raw.sPublish(`crochet:p:${token}`, "are you there?")) === 1, 1_000)
              }
              work.open("still subscribed")
              const completed = Date.now()
              expect(await result.wait({ timeout: "5 seconds" })).toBe("still subscribed")
              expect(Date.now() - completed).toBeLessThan(1_000)
              let interrupted!: () => void
              const cancelled = new Promise<void>((resolve) => {
                interrupted = resolve
              })
              const running = b.reactor.retrieve(
                a.reactor.runInReactor(Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(interrupted)))).stash()
              )
              await rejection(running.wait({ timeout: "100 millis" }))
              running.cancel()
              const asked = Date.now()
              // Bounded: a cancel that never arrives fails here, naming the lane, instead of at the test's timeout.
              const arrived = await Promise.race([cancelled.then(() => true), sleep(5_000).then(() => false)])
              expect(arrived, `lane ${lane}: the cancel did not reach the owner within 5 s`).toBe(true)
              expect(Date.now() - asked).toBeLessThan(1_000)
            }))
          } finally {
            raw.destroy()
          }
        },
        180_000
      )
    }
  }
})
