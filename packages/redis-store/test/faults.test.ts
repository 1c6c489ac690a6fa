/**
 * Production faults on a real `redis-server`: settings node-redis rejects,
 * Redis restarted without its data, ids from cookies and URLs that cannot be
 * ours, corrupted records and forged messages.
 */
import { InvalidArgument, ResultNotFound } from "@crochet/core"
import { CorruptResult, OwnerLost, RedisResultStore } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import { createClient } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { testOptions } from "./fixtures/options.ts"
import { crossProcess, eventually, latch, type RedisServer, rejection, startRedis } from "./helpers.ts"

let redis: RedisServer
const { cleanups, cleanUp, reactorWithStore } = crossProcess(() => redis.url)

beforeAll(async () => {
  redis = await startRedis()
}, 20_000)

afterAll(async () => {
  await cleanUp()
  await redis?.stop()
}, 30_000)

const rawClient = async (url = redis.url) => {
  const client = createClient({ url })
  await client.connect()
  cleanups.push(async () => client.destroy())
  return client
}

/** Runs `f` while a 10 ms interval runs; resolves with `f`'s time and the longest gap between two ticks. */
const withTicker = async (f: () => Promise<void>): Promise<{ readonly took: number; readonly longestGap: number }> => {
  let last = performance.now()
  let longestGap = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
  }, 10)
  const start = performance.now()
  try {
    await f()
  } finally {
    clearInterval(ticker)
  }
  longestGap = Math.max(longestGap, performance.now() - last)
  return { took: performance.now() - start, longestGap }
}

describe("a connection setting node-redis rejects", () => {
  const rejected: ReadonlyArray<readonly [string, RedisResultStore.Options, RegExp]> = [
    ["a database name in the URL", { url: "redis://127.0.0.1:6379/cache" }, /options\.url.*Invalid pathname/],
    ["a plain redis:// URL with client.socket.tls", {
      url: "redis://127.0.0.1:6379",
      client: { socket: { tls: true } }
    }, /options\.client.*tls/],
    [
      "a cluster root node with a database name",
      { cluster: { rootNodes: [{ url: "redis://127.0.0.1:6379/cache" }] } },
      /options\.cluster.*Invalid pathname/
    ]
  ]
  for (const [what, options, message] of rejected) {
    it(`${what}: one InvalidArgument at make naming the setting; the event loop stays responsive`, async () => {
      let error: unknown
      const { longestGap, took } = await withTicker(async () => {
        try {
          // What a user does next, were make to accept it: connect, stash running work, wait for it elsewhere.
          const store = RedisResultStore.make({ ...options, commandTimeout: "1 second" })
          cleanups.push(() => store.close())
          const { reactor } = reactorWithStore({ ...options, commandTimeout: "1 second" })
          await store.ready().catch((failure) => {
            error ??= failure
          })
          const id = reactor.runInReactor(Effect.never).stash()
          await reactor.retrieve(id).wait({ timeout: "2 seconds" })
        } catch (failure) {
          error ??= failure
        }
      })
      expect(error).toBeInstanceOf(InvalidArgument)
      expect(String((error as Error).message)).toMatch(message)
      // A busy machine may delay a tick a little; what is ruled out is a loop blocked for seconds.
      expect(longestGap).toBeLessThan(1_000)
      expect(took).toBeLessThan(3_000)
    })
  }
})

describe("Redis restarted without its data while the owner works", () => {
  for (const after of [500, 1_000, 4_000]) {
    it(
      `${after} ms after the stash: the pending wait ends with ResultNotFound or OwnerLost within ownerLostAfter + commandTimeout`,
      async () => {
        const server = await startRedis()
        cleanups.push(() => server.stop())
        // ownerLostAfter 600 ms + commandTimeout 2 s: the documented bound.
        const a = reactorWithStore(testOptions(server.url))
        const b = reactorWithStore(testOptions(server.url))
        const work = latch<string>()
        const result = b.reactor.retrieve(a.reactor.runInReactor(work.effect).stash())
        await rejection(result.wait({ timeout: `${after} millis` }))
        await server.restartEmpty()
        const restarted = Date.now()
        const error = await rejection(result.wait({ timeout: "10 seconds" }))
        const took = Date.now() - restarted
        expect([ResultNotFound, OwnerLost].some((type) => error instanceof type), String(error)).toBe(true)
        expect(took).toBeLessThan(600 + 2_000)
        work.open("too late")
      },
      20_000
    )
  }
})

describe("ids that cannot be ours", () => {
  it("an id of the right shape dated in the future, or with an unparsable time, is ResultNotFound at once", async () => {
    const { reactor } = reactorWithStore()
    const ids = [
      `${(Date.now() + 3_600_000).toString(36)}.${globalThis.crypto.randomUUID()}`,
      `zzzzzzzzzzz.${globalThis.crypto.randomUUID()}`,
      `${"9".repeat(11)}.${globalThis.crypto.randomUUID()}`
    ]
    for (const id of ids) {
      const start = Date.now()
      const error = await rejection(reactor.retrieve(id).wait({ timeout: "3 seconds" }))
      expect(error).toBeInstanceOf(ResultNotFound)
      expect(Date.now() - start).toBeLessThan(300)
    }
  })
})

describe("corrupted records and forged messages", () => {
  const record = (id: string) => `crochet:{${id}}:r`
  const claim = (id: string) => `crochet:{${id}}:c`
  const newId = () => `${Date.now().toString(36)}.${globalThis.crypto.randomUUID()}`

  it(
    "a stored Exit that is not JSON, of the wrong shape, or 32 MB of garbage: CorruptResult naming the id, quoting at most 64 characters; other waits unaffected",
    async () => {
      const raw = await rawClient()
      // 32 MB take a while to cross a busy machine (more than testOptions' 2 s), and reading them holds up this
      // process's event loop, the owner's heartbeat with it (the owner is in this process here): longer bounds.
      const options = {
        ...testOptions(redis.url),
        commandTimeout: "20 seconds",
        ownerHeartbeat: "1 second",
        ownerLostAfter: "20 seconds"
      } as const
      const a = reactorWithStore(options)
      const b = reactorWithStore(options)
      const work = latch<string>()
      const other = b.reactor.retrieve(a.reactor.runInReactor(work.effect).stash())
      const stored = [
        "not JSON {{{",
        JSON.stringify({ _tag: "Failure", cause: 42 }),
        JSON.stringify([1, 2, 3]),
        "x".repeat(32 * 1024 * 1024)
      ]
      for (const exit of stored) {
        const id = newId()
        await raw.hSet(record(id), { state: "done", exit, owner: "nobody:1", token: "forged" })
        const error = await rejection(b.reactor.retrieve(id).wait({ timeout: "30 seconds" }))
        expect(error).toBeInstanceOf(CorruptResult)
        expect(error).toMatchObject({ _tag: "CorruptResult", id })
        expect(error.message).toContain(`found ${JSON.stringify(exit.slice(0, 64))}`)
        expect(error.message.length).toBeLessThan(600)
      }
      expect(other.poll()).toBeUndefined()
      work.open("unaffected")
      expect(await other.wait({ timeout: "5 seconds" })).toBe("unaffected")
    },
    90_000
  )

  it("a record or claim of the wrong type (WRONGTYPE) is CorruptResult, not StoreUnavailable", async () => {
    const raw = await rawClient()
    const { reactor } = reactorWithStore()
    const asString = newId()
    await raw.set(record(asString), "a string, not a hash")
    const wrongRecord = await rejection(reactor.retrieve(asString).wait({ timeout: "5 seconds" }))
    expect(wrongRecord).toBeInstanceOf(CorruptResult)
    expect(wrongRecord.id).toBe(asString)
    expect(wrongRecord.message).toContain("WRONGTYPE")
    const claimAsHash = newId()
    await raw.hSet(claim(claimAsHash), { not: "a claim" })
    const wrongClaim = await rejection(reactor.retrieve(claimAsHash).wait({ timeout: "5 seconds" }))
    expect(wrongClaim).toBeInstanceOf(CorruptResult)
    expect(wrongClaim.id).toBe(claimAsHash)
  })

  it("a forged completion message fails that wait with CorruptResult; garbage is ignored; other waits unaffected", async () => {
    const raw = await rawClient()
    const a = reactorWithStore()
    const b = reactorWithStore()
    const forgedWork = latch<string>()
    const otherWork = latch<string>()
    const forgedId = a.reactor.runInReactor(forgedWork.effect).stash()
    const forged = b.reactor.retrieve(forgedId)
    const other = b.reactor.retrieve(a.reactor.runInReactor(otherWork.effect).stash())
    await rejection(other.wait({ timeout: "300 millis" }))
    const waiter = await raw.hGet(record(forgedId), "waiter")
    expect(waiter).toBeTypeOf("string")
    const channel = `crochet:p:${waiter}`
    for (
      const garbage of ["", "d", "d not JSON", "d [1]", "d [[1]]", "k", "w", "c", "zzz", "d [\"x\",1,2,3]", "d {}"]
    ) {
      await raw.sPublish(channel, garbage)
    }
    await rejection(forged.wait({ timeout: "100 millis" }))
    expect(forged.poll()).toBeUndefined()
    await raw.sPublish(channel, `d ${JSON.stringify([[forgedId, "{\"forged\": true"]])}`)
    const error = await rejection(forged.wait({ timeout: "5 seconds" }))
    expect(error).toBeInstanceOf(CorruptResult)
    expect(error).toMatchObject({ id: forgedId })
    expect(error.message).toContain(`found ${JSON.stringify("{\"forged\": true")}`)
    otherWork.open("unaffected")
    expect(await other.wait({ timeout: "5 seconds" })).toBe("unaffected")
    // The owner's own publish comes later: its Exit goes to the waiter it knows of, and the record, read and
    // deleted by the wait, is not written again (it would stay until its ttl).
    forgedWork.open("late")
    await eventually(() => a.reactor.stats().inFlight === 0)
    expect(await raw.exists(record(forgedId))).toBe(0)
  })
})
