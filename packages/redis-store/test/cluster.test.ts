/**
 * The Redis result store on a real 3-node Redis Cluster (started here on free
 * 127.0.0.1 ports), with real child processes as the other side.
 */
import * as Effect from "effect/Effect"
import { createClient, createCluster } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { crossProcessScenarios } from "./crossProcessScenarios.ts"
import { testOptions } from "./fixtures/options.ts"
import { crossProcess, type RedisCluster, rejection, startCluster } from "./helpers.ts"

let cluster: RedisCluster
const harness = crossProcess(() => cluster.target)
const { cleanUp, reactorWithStore } = harness

beforeAll(async () => {
  cluster = await startCluster()
}, 30_000)

afterAll(async () => {
  await cleanUp()
  await cluster?.stop()
}, 30_000)

describe("on a 3-node Redis Cluster, across two processes", () => {
  crossProcessScenarios(() => cluster.target, harness)

  it(
    "lost connections (every node's pub/sub clients killed) are made again, and a pending wait looks again",
    async () => {
      // Liveness is not what this tests: a heartbeat that rides out a loaded machine (A's 100 ms beats late by
      // 600 ms would be a false OwnerLost).
      const options = {
        ...testOptions(cluster.target),
        ownerHeartbeat: "200 millis",
        ownerLostAfter: "3 seconds"
      } as const
      const a = reactorWithStore(options)
      const b = reactorWithStore(options)
      let open!: (value: string) => void
      const work = Effect.promise(() =>
        new Promise<string>((resolve) => {
          open = resolve
        })
      )
      // Other work keeps A's heartbeat going: only a look after the reconnect can find the result.
      a.reactor.runInReactor(Effect.never).stash()
      const result = b.reactor.retrieve(a.reactor.runInReactor(work).stash())
      await rejection(result.wait({ timeout: "300 millis" }))
      for (const url of cluster.urls) {
        const node = createClient({ url })
        await node.connect()
        await node.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"])
        node.destroy()
      }
      open("after the reconnect")
      expect(await result.wait({ timeout: "10 seconds" })).toBe("after the reconnect")
    },
    20_000
  )

  it("results spread over every node; each result's keys stay in one hash slot", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const ids = Array.from(
      { length: 30 },
      (_, i) => a.reactor.runInReactor(Effect.sleep("100 millis").pipe(Effect.as(i))).stash()
    )
    expect(await Promise.all(ids.map((id) => b.reactor.retrieve(id).wait({ timeout: "10 seconds" })))).toEqual(
      Array.from({ length: 30 }, (_, i) => i)
    )
    const raw = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) })
    await raw.connect()
    try {
      const nodes = new Set<string>()
      for (const id of ids) {
        const claim = `crochet:{${id}}:c`
        const slots = await Promise.all(
          [claim, `crochet:{${id}}:r`].map((key) =>
            raw.sendCommand(key, true, ["CLUSTER", "KEYSLOT", key]) as Promise<number>
          )
        )
        expect(slots[0]).toBe(slots[1])
        nodes.add(raw.getSlotRandomNode(slots[0]!).address)
        expect(await raw.exists(claim)).toBe(1)
      }
      expect(nodes.size).toBe(3)
    } finally {
      raw.destroy()
    }
  }, 20_000)
})
