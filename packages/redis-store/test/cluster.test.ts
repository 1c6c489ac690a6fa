/**
 * The Redis result store on a real 3-node Redis Cluster (started here on free
 * 127.0.0.1 ports), with real child processes as the other side.
 */
import { ResultNotFound } from "@crochet/core"
import { OwnerLost } from "@crochet/redis-store"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { createClient, createCluster } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { crossProcess, fixture, ownerStarted, type RedisCluster, rejection, startCluster } from "./helpers.ts"

let cluster: RedisCluster
const { cleanups, cleanUp, owner, reactorWithStore } = crossProcess(() => cluster.target)

beforeAll(async () => {
  cluster = await startCluster()
}, 30_000)

afterAll(async () => {
  await cleanUp()
  await cluster?.stop()
}, 30_000)

describe("on a 3-node Redis Cluster, across two processes", () => {
  it("a value stashed in process A is retrieved and waited for here", async () => {
    const a = await owner("slow")
    const { reactor } = reactorWithStore()
    expect(await reactor.retrieve(a.id).wait({ timeout: "10 seconds" })).toBe("slow done")
  }, 20_000)

  it("a failure arrives with its whole Cause and A's span trace", async () => {
    const a = await owner("fail")
    const { reactor } = reactorWithStore()
    const result = reactor.retrieve(a.id)
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(error).toMatchObject({ _tag: "LookupFailed", message: "no user 7", user: 7 })
    expect(error.stack).toContain("at lookupUser")
    const cause = result.originalFailure()!
    expect(Cause.isCause(cause)).toBe(true)
    expect(cause.reasons).toHaveLength(1)
  }, 20_000)

  it("two processes racing to retrieve the same id: exactly one wins", async () => {
    const a = await owner("success")
    const racers = [fixture("retriever", [cluster.target, a.id]), fixture("retriever", [cluster.target, a.id])]
    const outcomes = await Promise.all(racers.map((racer) => racer.next()))
    expect(outcomes.filter((outcome) => "ok" in outcome)).toEqual([{ ok: { from: "owner", pid: a.process.child.pid } }])
    expect(outcomes.filter((outcome) => "error" in outcome)).toEqual([{ error: "ResultNotFound" }])
    const { reactor } = reactorWithStore()
    expect(await rejection(reactor.retrieve(a.id).wait({ timeout: "10 seconds" }))).toBeInstanceOf(ResultNotFound)
  }, 30_000)

  it("cancel() here interrupts the fiber in process A", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(cluster.target, a.id)
    const result = reactor.retrieve(a.id)
    await rejection(result.wait({ timeout: "300 millis" }))
    result.cancel()
    expect(await rejection(result.wait({ timeout: "5 seconds" }))).toMatchObject({ _tag: "Cancelled" })
    expect(await a.process.next((message) => message.event === "interrupted", 5_000)).toEqual({ event: "interrupted" })
  }, 20_000)

  it("A is SIGKILLed before finishing: the wait here ends with OwnerLost", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(cluster.target, a.id)
    const result = reactor.retrieve(a.id)
    await rejection(result.wait({ timeout: "300 millis" }))
    a.process.child.kill("SIGKILL")
    await a.process.exited
    const killed = Date.now()
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(OwnerLost)
    // ownerLostAfter 600 ms, checked every 100 ms: a generous bound, far below the wait's timeout.
    expect(Date.now() - killed).toBeLessThan(3_000)
  }, 20_000)
})

describe("on a 3-node Redis Cluster, in one process", () => {
  it("lost connections (every node's pub/sub clients killed) are made again, and a pending wait looks again", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    let open!: (value: string) => void
    const work = Effect.promise(() => new Promise<string>((resolve) => {
      open = resolve
    }))
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
  }, 20_000)

  it("an idle store does not keep a finished program alive", async () => {
    const program = fixture("idle", [cluster.target])
    expect(await program.next()).toEqual({ ok: "idle" })
    expect(await program.exited).toBe(0)
  }, 20_000)

  it("results spread over every node; each result's keys stay in one hash slot", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const ids = Array.from({ length: 30 }, (_, i) => a.reactor.runInReactor(Effect.sleep("100 millis").pipe(Effect.as(i))).stash())
    expect(await Promise.all(ids.map((id) => b.reactor.retrieve(id).wait({ timeout: "10 seconds" })))).toEqual(
      Array.from({ length: 30 }, (_, i) => i)
    )
    const raw = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) })
    await raw.connect()
    try {
      const nodes = new Set<string>()
      for (const id of ids) {
        const claim = `crochet:{${id}}:c`
        const slots = await Promise.all([claim, `crochet:{${id}}:r`].map((key) =>
          raw.sendCommand(key, true, ["CLUSTER", "KEYSLOT", key]) as Promise<number>
        ))
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
