/**
 * The Redis result store against a real `redis-server` (started here on a
 * free 127.0.0.1 port), with real child processes as the other side.
 */
import { InvalidArgument, Reactor, ReactorStopped, ResultNotFound, type ResultStore } from "@crochet/core"
import { RedisResultStore, StoreUnavailable, UnencodableResult } from "@crochet/redis-store"
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import { createClient } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { crossProcessScenarios } from "./crossProcessScenarios.ts"
import { testOptions } from "./fixtures/options.ts"
import {
  crossProcess,
  eventually,
  fixture,
  latch,
  ownerStarted,
  type RedisServer,
  rejection,
  startRedis
} from "./helpers.ts"

let redis: RedisServer
const harness = crossProcess(() => redis.url)
const { cleanups, cleanUp, owner, reactorWithStore } = harness

beforeAll(async () => {
  redis = await startRedis()
}, 20_000)

afterAll(async () => {
  await cleanUp()
  await redis?.stop()
}, 30_000)

describe("across two processes", () => {
  crossProcessScenarios(() => redis.url, harness)

  it("cancel() at once after retrieve() still reaches A", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    reactor.retrieve(a.id).cancel()
    expect(await a.process.next((message) => message.event === "interrupted", 5_000)).toEqual({ event: "interrupted" })
  }, 20_000)

  it("the retrieving reactor shutting down while it waits asks A to cancel (nobody else can retrieve it)", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(redis.url, a.id)
    const result = reactor.retrieve(a.id)
    await rejection(result.wait({ timeout: "200 millis" }))
    await reactor.shutdown()
    expect(await rejection(result.wait())).toBeInstanceOf(ReactorStopped)
    expect(await a.process.next((message) => message.event === "interrupted", 5_000)).toEqual({ event: "interrupted" })
  }, 20_000)

  it("A's reactor shuts down before finishing: the wait here ends with ReactorStopped", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(redis.url, a.id)
    const result = reactor.retrieve(a.id)
    await rejection(result.wait({ timeout: "200 millis" }))
    a.process.send("shutdown")
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain("shut down")
    expect(await a.process.exited).toBe(0)
  }, 20_000)

  it("a value that completes later and is not JSON reaches the retriever as UnencodableResult", async () => {
    const a = await owner("unencodable")
    const { reactor } = reactorWithStore()
    const error = await rejection(reactor.retrieve(a.id).wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(UnencodableResult)
    expect(error.message).toContain("JSON")
  }, 20_000)

  it("an idle store does not keep a program alive after Redis went away either", async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const program = fixture("idle", [server.url, "linger"])
    expect(await program.next()).toEqual({ ok: "idle" })
    await server.stop()
    const exited = await Promise.race([
      program.exited,
      new Promise((resolve) => setTimeout(() => resolve("still running after 10 s"), 10_000))
    ])
    program.child.kill("SIGKILL")
    expect(exited).toBe(0)
  }, 20_000)
})

describe("in one process, with two stores", () => {
  it("stash() of a done value that is not JSON throws UnencodableResult at once", () => {
    const { reactor } = reactorWithStore()
    expect(() => reactor.runInReactor(Effect.succeed({ at: 1n })).stash()).toThrow(UnencodableResult)
  })

  it("a failure already waited for before stash() carries its span frames once", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const check = Effect.fn("checkStock")(function*(item: string) {
      return yield* Effect.fail(new Error(`out of ${item}`))
    })
    const result = a.reactor.runInReactor(check("tea"))
    await rejection(result.wait())
    const error = await rejection(b.reactor.retrieve(result.stash()).wait({ timeout: "5 seconds" }))
    expect(error.message).toBe("out of tea")
    expect(error.stack.match(/at checkStock \(definition\)/g)).toHaveLength(1)
  })

  it("the whole Cause arrives: a failure and a defect in parallel, and non-Error failures", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const both = Effect.failCause(Cause.combine(Cause.fail({ code: 42 }), Cause.die(new TypeError("bad input"))))
    const result = b.reactor.retrieve(a.reactor.runInReactor(both).stash())
    const error = await rejection(result.wait({ timeout: "5 seconds" }))
    expect(error).toMatchObject({ _tag: "NonErrorFailure", value: { code: 42 } })
    const reasons = result.originalFailure()!.reasons
    expect(reasons.map((reason) => reason._tag)).toEqual(["Fail", "Die"])
    // JavaScript's own errors come back as themselves (no `_tag` added).
    expect(reasons[1]!._tag === "Die" && reasons[1]!.defect).toBeInstanceOf(TypeError)
    expect(reasons[1]).toMatchObject({ defect: { name: "TypeError", message: "bad input" } })
    expect(Object.keys((reasons[1] as Cause.Die).defect as object)).toEqual([])
    const text = b.reactor.retrieve(a.reactor.runInReactor(Effect.fail("just text")).stash())
    expect(await rejection(text.wait({ timeout: "5 seconds" }))).toMatchObject({
      _tag: "NonErrorFailure",
      value: "just text"
    })
  })

  it("a handle already cancelled when stashed arrives as Cancelled, with the owner's message", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const result = a.reactor.runInReactor(Effect.never)
    result.cancel()
    await rejection(result.wait())
    const error = await rejection(b.reactor.retrieve(result.stash()).wait({ timeout: "5 seconds" }))
    expect(error).toMatchObject({ _tag: "Cancelled" })
    expect(error.message).toContain("cancelled with EventualResult.cancel()")
  })

  it("errors: [classes]: your failures come back as instances of their class, any other as an Error with its parts", async () => {
    class NotFound
      extends Schema.TaggedError<NotFound>()("NotFound", { user: Schema.Number, message: Schema.String })
    {}
    class Refused extends Data.TaggedError("Refused")<{ readonly message: string; readonly reason: string }> {}
    const options = { ...testOptions(redis.url), errors: [NotFound, Refused] }
    const a = reactorWithStore(options)
    const b = reactorWithStore(options)
    const plain = reactorWithStore()
    const find = Effect.fn("findUser")(function*(user: number) {
      return yield* new NotFound({ user, message: `no user ${user}` })
    })
    const stashed = (effect: Effect.Effect<unknown, unknown>) => a.reactor.runInReactor(effect).stash()
    const error = await rejection(b.reactor.retrieve(stashed(find(7))).wait({ timeout: "5 seconds" }))
    expect(error).toBeInstanceOf(NotFound)
    expect(error).toMatchObject({ _tag: "NotFound", user: 7, message: "no user 7" })
    expect(error.stack).toContain("at findUser")
    const refused = await rejection(
      b.reactor.retrieve(stashed(Effect.fail(new Refused({ message: "no", reason: "quota" }))))
        .wait({ timeout: "5 seconds" })
    )
    expect(refused).toBeInstanceOf(Refused)
    expect(refused).toMatchObject({ _tag: "Refused", reason: "quota" })
    // JavaScript's own classes need no registering.
    const other = await rejection(
      b.reactor.retrieve(stashed(Effect.fail(new RangeError("too far")))).wait({ timeout: "5 seconds" })
    )
    expect(other).toBeInstanceOf(RangeError)
    expect(other).toMatchObject({ name: "RangeError", message: "too far" })
    // A retriever without the classes gets a plain Error with the same _tag, name and fields (as across threads).
    const generic = await rejection(plain.reactor.retrieve(stashed(find(8))).wait({ timeout: "5 seconds" }))
    expect(generic).not.toBeInstanceOf(NotFound)
    expect(Object.getPrototypeOf(generic)).toBe(Error.prototype)
    expect(generic).toMatchObject({ _tag: "NotFound", name: "NotFound", user: 8, message: "no user 8" })
  })

  it("errors as a Schema (what the option took before) or a single class is InvalidArgument at make, not ignored", () => {
    class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { user: Schema.Number }) {}
    const make = (errors: unknown) => () =>
      RedisResultStore.make({ ...testOptions(redis.url), errors: errors as never })
    expect(make(Schema.Union([NotFound]))).toThrow(InvalidArgument)
    expect(make(Schema.Union([NotFound]))).toThrow(
      /^RedisResultStore.make: options.errors must be a list of error classes/
    )
    expect(make(NotFound)).toThrow(/options.errors must be a list of error classes, such as \[NotFound, Timeout\]/)
    expect(make([NotFound, "NotFound"])).toThrow(/options.errors\[1\] must be an error class/)
    expect(() => RedisResultStore.layerRedis({ errors: NotFound as never })).toThrow(
      /^RedisResultStore.layerRedis: options.errors/
    )
  })

  it("unknown, malformed and already retrieved ids get ResultNotFound", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const old = `${(Date.now() - 60_000).toString(36)}.${globalThis.crypto.randomUUID()}`
    expect(await rejection(b.reactor.retrieve(old).wait({ timeout: "5 seconds" }))).toBeInstanceOf(ResultNotFound)
    expect(await rejection(b.reactor.retrieve("nope").wait({ timeout: "5 seconds" }))).toBeInstanceOf(ResultNotFound)
    const id = a.reactor.runInReactor(Effect.succeed(1)).stash()
    expect(await b.reactor.retrieve(id).wait({ timeout: "5 seconds" })).toBe(1)
    expect(await rejection(a.reactor.retrieve(id).wait({ timeout: "5 seconds" }))).toBeInstanceOf(ResultNotFound)
  })

  it("an id that cannot be ours fails at once without a Redis command, quoting only its start", async () => {
    // Nothing listens there: any Redis command would end in StoreUnavailable, not ResultNotFound.
    const { reactor } = reactorWithStore(testOptions("redis://127.0.0.1:1"))
    for (
      const id of [
        "x".repeat(1_000_000),
        "nope",
        `${Date.now().toString(36)}.not-a-uuid`,
        `${"z".repeat(12)}.${globalThis.crypto.randomUUID()}`
      ]
    ) {
      const error = await rejection(reactor.retrieve(id).wait({ timeout: "5 seconds" }))
      expect(error).toBeInstanceOf(ResultNotFound)
      expect(error.message.length).toBeLessThan(400)
    }
  })

  it("results expire after ttl", async () => {
    const options = { ...testOptions(redis.url), ttl: "300 millis" } as const
    const a = reactorWithStore(options)
    const b = reactorWithStore(options)
    const id = a.reactor.runInReactor(Effect.succeed("soon gone")).stash()
    const raw = createClient({ url: redis.url })
    await raw.connect()
    try {
      await eventually(async () => (await raw.exists(`crochet:{${id}}:r`)) === 1, 5_000)
      await eventually(async () => (await raw.exists(`crochet:{${id}}:r`)) === 0, 5_000)
    } finally {
      raw.destroy()
    }
    expect(await rejection(b.reactor.retrieve(id).wait({ timeout: "5 seconds" }))).toBeInstanceOf(ResultNotFound)
  })

  it("work that outlives ttl is kept (and stays claimed) while its owner is alive", async () => {
    const options = { ...testOptions(redis.url), ttl: "300 millis" } as const
    const a = reactorWithStore(options)
    const b = reactorWithStore(options)
    const c = reactorWithStore(options)
    const id = a.reactor.runInReactor(Effect.sleep("900 millis").pipe(Effect.as("long"))).stash()
    const result = b.reactor.retrieve(id)
    await rejection(result.wait({ timeout: "600 millis" }))
    expect(await rejection(c.reactor.retrieve(id).wait({ timeout: "5 seconds" }))).toBeInstanceOf(ResultNotFound)
    expect(await result.wait({ timeout: "5 seconds" })).toBe("long")
  })

  it("RedisResultStore.layer provides the store to Reactor.make", async () => {
    const program = Effect.gen(function*() {
      const reactor = yield* Reactor.make<ResultStore.ResultStore>({ logLevel: "None" })
      const id = reactor.runInReactor(Effect.succeed("from an Effect app")).stash()
      return yield* Effect.promise(() => reactor.retrieve(id).wait({ timeout: "5 seconds" }))
    })
    const value = await Effect.runPromise(
      program.pipe(Effect.scoped, Effect.provide(RedisResultStore.layer(testOptions(redis.url))))
    )
    expect(value).toBe("from an Effect app")
  })

  it("close() ends the store: stash throws and retrieve rejects with StoreUnavailable; it is idempotent", async () => {
    const { reactor, store } = reactorWithStore()
    const id = reactor.runInReactor(Effect.succeed(1)).stash()
    expect(await reactor.retrieve(id).wait({ timeout: "5 seconds" })).toBe(1)
    await store[Symbol.asyncDispose]()
    await store.close()
    expect(() => reactor.runInReactor(Effect.succeed(2)).stash()).toThrow(/was closed/)
    expect(await rejection(reactor.retrieve(id).wait({ timeout: "5 seconds" }))).toBeInstanceOf(StoreUnavailable)
    expect(await reactor.waitFor(Effect.succeed(3))).toBe(3)
  })

  it("RedisResultStore.layerRedis shares the application's own NodeRedis connection", async () => {
    const { url: _url, ...storeOptions } = testOptions(redis.url)
    const Store = RedisResultStore.layerRedis(storeOptions).pipe(
      Layer.provide(NodeRedis.layer({ url: redis.url, disableOfflineQueue: true }))
    )
    const other = reactorWithStore()
    const program = Effect.gen(function*() {
      const app = yield* Reactor.make<ResultStore.ResultStore>({ logLevel: "None" })
      const id = app.runInReactor(Effect.sleep("200 millis").pipe(Effect.as("shared connection"))).stash()
      // Retrieved by another process's store while this application (and its connection) runs.
      return yield* Effect.promise(() => other.reactor.retrieve(id).wait({ timeout: "5 seconds" }))
    })
    expect(await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Store)))).toBe("shared connection")
  })

  it("bad options throw InvalidArgument at make", () => {
    expect(() => RedisResultStore.make({ ttl: "soon" as never })).toThrow(InvalidArgument)
    expect(() => RedisResultStore.make({ ttl: -1 })).toThrow(InvalidArgument)
    expect(() => RedisResultStore.make({ url: "http://localhost" })).toThrow(InvalidArgument)
    expect(() => RedisResultStore.make({ cluster: { rootNodes: [] } })).toThrow(/at least one root node/)
    expect(() => RedisResultStore.make({ prefix: "app:{x}:" })).toThrow(/hash tag/)
    expect(() => RedisResultStore.make({ ownerHeartbeat: "5 seconds", ownerLostAfter: "1 second" })).toThrow(
      /ownerLostAfter/
    )
  })
})

describe("pushed, not polled", () => {
  const redisClient = async (url = redis.url) => {
    const client = createClient({ url })
    await client.connect()
    cleanups.push(async () => client.destroy())
    return client
  }

  /** An owner's reactor and store whose log lines are kept. */
  const loggingOwner = () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ message }) => {
      lines.push(JSON.stringify(message))
    })
    const store = RedisResultStore.make(testOptions(redis.url))
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logger })
    cleanups.push(() => reactor.shutdown().then(() => store.close()))
    return { lines, reactor, store }
  }

  const commandsProcessed = async (client: Awaited<ReturnType<typeof redisClient>>): Promise<number> => {
    const info = await client.info("stats")
    return Number(/total_commands_processed:(\d+)/.exec(info)![1])
  }

  it("one subscriber connection per store, however many waits are pending", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const raw = await redisClient()
    const before =
      (await raw.sendCommand(["CLIENT", "LIST", "TYPE", "pubsub"]) as string).trim().split("\n").filter(Boolean).length
    const results = Array.from({ length: 50 }, () => b.reactor.retrieve(a.reactor.runInReactor(Effect.never).stash()))
    await rejection(results[49]!.wait({ timeout: "300 millis" }))
    const after =
      (await raw.sendCommand(["CLIENT", "LIST", "TYPE", "pubsub"]) as string).trim().split("\n").filter(Boolean).length
    expect(after - before).toBe(2)
    for (const result of results) result.cancel()
  })

  it("Redis traffic while waits are pending does not grow with their number", async () => {
    // A server of its own: only this test's traffic counts.
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const raw = await redisClient(server.url)
    const trafficWith = async (waits: number): Promise<number> => {
      const a = reactorWithStore(testOptions(server.url))
      const b = reactorWithStore(testOptions(server.url))
      const results = Array.from(
        { length: waits },
        () => b.reactor.retrieve(a.reactor.runInReactor(Effect.never).stash())
      )
      await rejection(results[waits - 1]!.wait({ timeout: "300 millis" }))
      // Claims and starts done: what is left is the steady state.
      await eventually(async () => {
        const start = await commandsProcessed(raw)
        await new Promise((resolve) => setTimeout(resolve, 300))
        return await commandsProcessed(raw) - start < 30
      })
      const start = await commandsProcessed(raw)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const commands = await commandsProcessed(raw) - start
      for (const result of results) result.cancel()
      await a.reactor.shutdown()
      await b.reactor.shutdown()
      return commands
    }
    const one = await trafficWith(1)
    const many = await trafficWith(100)
    // Heartbeat and liveness check: a few commands per ownerHeartbeat (100 ms here), whatever the number of waits.
    expect(one).toBeLessThan(60)
    expect(many).toBeLessThan(one * 1.5 + 10)
  }, 30_000)

  it("results completed in the same tick are published together: a script per 256, a message per waiter", async () => {
    // A server of its own: only this test's commands count.
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const raw = await redisClient(server.url)
    const a = reactorWithStore(testOptions(server.url))
    const retrievers = [reactorWithStore(testOptions(server.url)), reactorWithStore(testOptions(server.url))]
    // Scripts loaded, subscriptions made.
    for (const { reactor } of retrievers) {
      expect(await reactor.retrieve(a.reactor.runInReactor(Effect.succeed("warm")).stash()).wait()).toBe("warm")
    }
    const work = latch<number>()
    const count = 600
    const ids = Array.from(
      { length: count },
      (_, i) => a.reactor.runInReactor(work.effect.pipe(Effect.map((n) => n + i))).stash()
    )
    const waits = ids.map((id, i) => retrievers[i % 2]!.reactor.retrieve(id).wait({ timeout: "10 seconds" }))
    await eventually(async () => (await raw.hGet(`crochet:{${ids[count - 1]}}:r`, "waiter")) !== null)
    // And the owner heard of every claim (its start script saw them, or the claims' messages came).
    await new Promise((resolve) => setTimeout(resolve, 200))
    // No fiber per stashed result once its record is written: the works, and one run that holds the
    // reactor's shutdown until their Exits are published.
    await eventually(() => a.reactor.stats().inFlight <= count + 1, 5_000).catch(() => undefined)
    expect(a.reactor.stats().inFlight).toBe(count + 1)
    await raw.sendCommand(["CONFIG", "RESETSTAT"])
    work.open(1000)
    expect(await Promise.all(waits)).toEqual(ids.map((_, i) => 1000 + i))
    await eventually(() => a.reactor.stats().inFlight === 0)
    const calls = (command: string, stats: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    const stats = await raw.info("commandstats")
    // 600 results: batches of 256, 256 and 88, each one script. Each wakes both retrievers with one message
    // (the Exits, sent by the owner before its script), and its script asks each to look again at the records
    // it found still there (not those the retriever had read and deleted already): at most one more.
    expect(calls("evalsha", stats)).toBe(3)
    expect(calls("eval", stats)).toBe(0)
    expect(calls("spublish", stats)).toBeGreaterThanOrEqual(6)
    expect(calls("spublish", stats)).toBeLessThanOrEqual(12)
  }, 30_000)

  it(
    "the owner sends the Exit first; if that message is lost, its script's \"look again\" wakes the wait",
    async () => {
      const a = reactorWithStore()
      const b = reactorWithStore()
      const raw = await redisClient()
      // Its own client, closed at the end: a later test kills every subscriber connection of this server.
      const listener = createClient({ url: redis.url })
      await listener.connect()
      try {
        // Other work keeps A's heartbeat going: the liveness check cannot end the wait.
        a.reactor.runInReactor(Effect.never).stash()
        const work = latch<string>()
        const id = a.reactor.runInReactor(work.effect).stash()
        const waited = b.reactor.retrieve(id).wait({ timeout: "5 seconds" })
        const record = `crochet:{${id}}:r`
        await eventually(async () => (await raw.hGet(record, "waiter")) !== null)
        const ownerChannel = `crochet:p:${await raw.hGet(record, "token")}`
        // A tells the waiter it knows of first: here, one that is not B (so B misses that message), as if B's
        // subscription was lost when it came. A hears of it after the claim's own message (same channel, in order).
        const elsewhere = globalThis.crypto.randomUUID()
        const sentElsewhere: Array<string> = []
        await listener.sSubscribe(`crochet:p:${elsewhere}`, (message) => void sentElsewhere.push(message))
        await raw.sPublish(ownerChannel, `k ${id} ${elsewhere}`)
        // A cancel sent after it: once A acted on it, it has heard of the other waiter too.
        const marker = a.reactor.runInReactor(Effect.never)
        await raw.sPublish(ownerChannel, `c ${marker.stash()}`)
        await eventually(() => marker.poll() !== undefined)
        work.open("found by looking again")
        expect(await waited).toBe("found by looking again")
        expect(sentElsewhere).toEqual([
          `d ${JSON.stringify([[id, JSON.stringify({ _tag: "Success", value: "found by looking again" })]])}`
        ])
      } finally {
        listener.destroy()
      }
    },
    20_000
  )

  it("a record of another type fails that result's publish only: the others of its batch arrive", async () => {
    const { lines, reactor } = loggingOwner()
    const b = reactorWithStore()
    const raw = await redisClient()
    const work = latch<string>()
    const ids = ["first", "broken", "last"].map((name) =>
      reactor.runInReactor(work.effect.pipe(Effect.map((value) => `${value} ${name}`))).stash()
    )
    // Nobody retrieves "broken" yet: its publish is the script's alone (an Exit that reached its retriever
    // first is read and its record deleted before the script comes).
    const [first, last] = [ids[0]!, ids[2]!].map((id) => b.reactor.retrieve(id))
    for (const id of [ids[0], ids[2]]) {
      await eventually(async () => (await raw.hGet(`crochet:{${id}}:r`, "waiter")) !== null)
    }
    await raw.del(`crochet:{${ids[1]}}:r`)
    await raw.set(`crochet:{${ids[1]}}:r`, "not a hash")
    work.open("done")
    expect(await first!.wait({ timeout: "5 seconds" })).toBe("done first")
    expect(await last!.wait({ timeout: "5 seconds" })).toBe("done last")
    await eventually(() => lines.some((line) => line.includes(ids[1]!)))
    expect(lines.find((line) => line.includes(ids[1]!))).toMatch(/could not be published.*WRONGTYPE/)
    expect(lines.some((line) => line.includes(ids[0]!) || line.includes(ids[2]!))).toBe(false)
  })

  it("close() right after a wait got its value publishes that result first: nothing logged, no record left pending", async () => {
    // The publish's script follows a delivered wake-up 10 ms later (see the owner's `recordAfter`): a close
    // meanwhile sends it at once and waits for it, as it waits for every reply under way.
    const { lines, reactor, store } = loggingOwner()
    const b = reactorWithStore()
    const raw = await redisClient()
    const record = (id: string) => `crochet:{${id}}:r`
    const work = latch<string>()
    const ids = ["one", "two"].map((name) =>
      reactor.runInReactor(work.effect.pipe(Effect.map((v) => `${v} ${name}`))).stash()
    )
    const results = ids.map((id) => b.reactor.retrieve(id))
    for (const id of ids) await eventually(async () => (await raw.hGet(record(id), "waiter")) !== null)
    work.open("done")
    expect(await Promise.all(results.map((result) => result.wait({ timeout: "5 seconds" })))).toEqual([
      "done one",
      "done two"
    ])
    await store.close()
    await reactor.shutdown()
    expect(lines).toEqual([])
    for (const id of ids) expect(await raw.hGet(record(id), "state")).not.toBe("pending")
  })

  it("a lost subscription is made again and every pending wait looks again", async () => {
    const a = reactorWithStore()
    const b = reactorWithStore()
    const raw = await redisClient()
    const work = latch<string>()
    // Other work keeps A's heartbeat going: only a look after the reconnect can find the result.
    a.reactor.runInReactor(Effect.never).stash()
    const result = b.reactor.retrieve(a.reactor.runInReactor(work.effect).stash())
    await rejection(result.wait({ timeout: "300 millis" }))
    // Both stores lose their subscriber connection; the wake-up is sent while they are gone.
    await raw.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"])
    work.open("after the reconnect")
    expect(await result.wait({ timeout: "10 seconds" })).toBe("after the reconnect")
  }, 20_000)

  it("Redis restarted mid-wait: the wait goes on and gets the result, finished while Redis was down", async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    // Longer than the restart takes, so that neither side gives up meanwhile.
    const options = { ...testOptions(server.url), ownerHeartbeat: "200 millis", ownerLostAfter: "5 seconds" } as const
    const a = reactorWithStore(options)
    const b = reactorWithStore(options)
    const work = latch<string>()
    const result = b.reactor.retrieve(a.reactor.runInReactor(work.effect).stash())
    await rejection(result.wait({ timeout: "300 millis" }))
    await server.restart(async () => {
      work.open("finished during the restart")
      // Down long enough for the owner's first attempts to publish to fail.
      await new Promise((resolve) => setTimeout(resolve, 300))
    })
    expect(await result.wait({ timeout: "10 seconds" })).toBe("finished during the restart")
  }, 20_000)

  it("a failure stashed here that expired unretrieved is logged (at the next stash), like the memory store's", async () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ cause, message }) => {
      lines.push(`${JSON.stringify(message)} ${Cause.pretty(cause)}`)
    })
    const store = RedisResultStore.make({ ...testOptions(redis.url), ttl: "200 millis" })
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logger })
    cleanups.push(() => reactor.shutdown().then(() => store.close()))
    reactor.runInReactor(Effect.fail(new Error("expired, never seen"))).stash()
    reactor.runInReactor(Effect.succeed("expired, fine")).stash()
    await new Promise((resolve) => setTimeout(resolve, 300))
    reactor.runInReactor(Effect.succeed("a later stash")).stash()
    await eventually(() => lines.some((line) => line.includes("expired unretrieved")))
    const expired = lines.filter((line) => line.includes("expired unretrieved"))
    expect(expired).toHaveLength(1)
    expect(expired[0]).toContain("expired, never seen")
  })

  it("a failure stashed here that nobody retrieved is logged at shutdown; a retrieved one is not", async () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ cause, message }) => {
      lines.push(`${JSON.stringify(message)} ${Cause.pretty(cause)}`)
    })
    const store = RedisResultStore.make(testOptions(redis.url))
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logger })
    cleanups.push(() => store.close())
    const b = reactorWithStore()
    reactor.runInReactor(Effect.fail(new Error("nobody came for me"))).stash()
    reactor.runInReactor(Effect.succeed("fine")).stash()
    const later = reactor.runInReactor(
      Effect.sleep("50 millis").pipe(Effect.andThen(Effect.fail(new Error("failed later, unseen"))))
    )
    later.stash()
    const seen = reactor.runInReactor(Effect.fail(new Error("seen elsewhere"))).stash()
    expect(await rejection(b.reactor.retrieve(seen).wait({ timeout: "5 seconds" }))).toMatchObject({
      message: "seen elsewhere"
    })
    await rejection(later.wait())
    // The retriever's "retrieved" message reaches the owner in the background.
    await new Promise((resolve) => setTimeout(resolve, 100))
    await reactor.shutdown()
    const unretrieved = lines.filter((line) => line.includes("never retrieved"))
    expect(unretrieved).toHaveLength(2)
    expect(unretrieved.join("\n")).toContain("nobody came for me")
    expect(unretrieved.join("\n")).toContain("failed later, unseen")
    expect(unretrieved.join("\n")).not.toContain("seen elsewhere")
  })
})

describe("when Redis is unavailable", () => {
  it("gives StoreUnavailable, and the reactor keeps serving other work", async () => {
    const closedPort = await startRedis()
    await closedPort.stop() // nothing listens there any more
    const { reactor } = reactorWithStore({ ...testOptions(closedPort.url), commandTimeout: "1 second" })
    const id = reactor.runInReactor(Effect.succeed(1)).stash() // not known yet: the publish fails in the background
    const error = await rejection(reactor.retrieve(id).wait({ timeout: "5 seconds" }))
    expect(error).toBeInstanceOf(StoreUnavailable)
    expect(error.message).toContain(closedPort.url)
    // Now it is known: stash() says so at once.
    expect(() => reactor.runInReactor(Effect.succeed(2)).stash()).toThrow(StoreUnavailable)
    expect(await reactor.waitFor(Effect.succeed(3), { timeout: "1 second" })).toBe(3)
  })

  it("a Redis that stops answering: each command ends after commandTimeout, the wait with StoreUnavailable", async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const options: RedisResultStore.Options = { ...testOptions(server.url), commandTimeout: "200 millis" }
    const a = reactorWithStore(options)
    const b = reactorWithStore(options)
    // Connected and subscribed first: then only commands can hang.
    expect(await b.reactor.retrieve(a.reactor.runInReactor(Effect.succeed(1)).stash()).wait({ timeout: "5 seconds" }))
      .toBe(1)
    const id = a.reactor.runInReactor(Effect.never).stash()
    const admin = createClient({ url: server.url })
    await admin.connect()
    cleanups.push(async () => admin.destroy())
    // Every client waits (this one too: the server is stopped at the end rather than unpaused).
    await admin.sendCommand(["CLIENT", "PAUSE", "10000", "ALL"])
    const paused = Date.now()
    const error = await rejection(b.reactor.retrieve(id).wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(StoreUnavailable)
    expect(error.message).toContain("did not answer within commandTimeout")
    // Tried again for ownerLostAfter (600 ms), long before Redis answers again.
    expect(Date.now() - paused).toBeLessThan(4_000)
  })

  /**
   * An owner on a Redis of its own, logging to `lines`: `work` is stashed, and once its pending record is
   * written, Redis is killed.
   */
  const ownerWhoseRedisDies = async (
    work: Effect.Effect<unknown>,
    storeOptions: Partial<RedisResultStore.Options>,
    reactorOptions: Reactor.ReactorOptions = {}
  ) => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ message }) => {
      lines.push(JSON.stringify(message))
    })
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const store = RedisResultStore.make({ ...testOptions(server.url), ...storeOptions })
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { ...reactorOptions, resultStore: store, logger })
    cleanups.push(() => reactor.shutdown().then(() => store.close()))
    const raw = createClient({ url: server.url })
    await raw.connect()
    const id = reactor.runInReactor(work).stash()
    await eventually(async () => (await raw.hGet(`crochet:{${id}}:r`, "state")) === "pending")
    raw.destroy()
    await server.stop()
    const unpublished = () => lines.filter((line) => line.includes(`stashed as ${id} could not be published`))
    return { reactor, unpublished }
  }

  it("a shutdown with Redis gone tries the stop's publish once: it does not wait out the store's retries", async () => {
    // Retries would ride out an outage for 30 s (ownerLostAfter); a shutdown must not wait for them.
    const { reactor, unpublished } = await ownerWhoseRedisDies(Effect.never, { ownerLostAfter: "30 seconds" }, {
      shutdownTimeout: "20 seconds"
    })
    const started = Date.now()
    await reactor.shutdown()
    // One try: at most commandTimeout (2 s); retrying, it would last until the reactor's shutdownTimeout (20 s).
    expect(Date.now() - started).toBeLessThan(8_000)
    expect(unpublished()).toHaveLength(1)
  }, 45_000)

  it("a publish that fails for good is logged once and lets the reactor go: nothing stays in flight", async () => {
    const work = latch<string>()
    const { reactor, unpublished } = await ownerWhoseRedisDies(work.effect, {})
    work.open("done while Redis is gone")
    // Tried for ownerLostAfter (600 ms), each try within commandTimeout (2 s); then logged, and the run
    // that held the reactor's shutdown for it ends.
    await eventually(() => reactor.stats().inFlight === 0, 10_000)
    expect(unpublished()).toHaveLength(1)
  }, 20_000)

  it(
    "a claim tried again after its reply came too late still gets the value: reading does not delete the record",
    async () => {
      const server = await startRedis()
      cleanups.push(() => server.stop())
      // Replies later than 300 ms are given up on, and the command tried again (for up to ownerLostAfter).
      const options: RedisResultStore.Options = {
        ...testOptions(server.url),
        commandTimeout: "300 millis",
        ownerLostAfter: "5 seconds"
      }
      const a = reactorWithStore(options)
      const b = reactorWithStore(options)
      expect(await b.reactor.retrieve(a.reactor.runInReactor(Effect.succeed("warm")).stash()).wait()).toBe("warm")
      const raw = createClient({ url: server.url })
      await raw.connect()
      const id = a.reactor.runInReactor(Effect.succeed("kept")).stash()
      await eventually(async () => (await raw.hGet(`crochet:{${id}}:r`, "state")) === "done")
      // Redis holds every command for 1 s, then runs them in order: the first claim, and its retries.
      await raw.sendCommand(["CLIENT", "PAUSE", "1000", "ALL"])
      expect(await b.reactor.retrieve(id).wait({ timeout: "5 seconds" })).toBe("kept")
      raw.destroy()
    },
    20_000
  )

  it("going away while a wait is pending ends the wait with StoreUnavailable", async () => {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    const a = reactorWithStore(testOptions(server.url))
    const b = reactorWithStore(testOptions(server.url))
    const id = a.reactor.runInReactor(Effect.never).stash()
    const result = b.reactor.retrieve(id)
    await rejection(result.wait({ timeout: "300 millis" }))
    expect(result.poll()).toBeUndefined()
    await server.stop()
    const stopped = Date.now()
    expect(await rejection(result.wait({ timeout: "10 seconds" }))).toBeInstanceOf(StoreUnavailable)
    // An outage is tolerated for ownerLostAfter (600 ms here), then reported.
    expect(Date.now() - stopped).toBeGreaterThanOrEqual(500)
    expect(Date.now() - stopped).toBeLessThan(5_000)
    await eventually(() => {
      try {
        a.reactor.runInReactor(Effect.succeed("x")).stash()
        return false
      } catch (error) {
        return error instanceof StoreUnavailable
      }
    }, 5_000)
    expect(await a.reactor.waitFor(Effect.succeed(1), { timeout: "1 second" })).toBe(1)
    expect(await b.reactor.waitFor(Effect.succeed(2), { timeout: "1 second" })).toBe(2)
    expect(await b.reactor.runInReactor(Effect.succeed(3)).wait({ timeout: "1 second" })).toBe(3)
  }, 20_000)

  it("comes back when Redis does: stash and retrieve work again", async () => {
    const first = await startRedis()
    const a = reactorWithStore(testOptions(first.url))
    const b = reactorWithStore(testOptions(first.url))
    const before = a.reactor.runInReactor(Effect.succeed("before")).stash()
    expect(await b.reactor.retrieve(before).wait({ timeout: "5 seconds" })).toBe("before")
    await first.stop()
    await eventually(() => {
      try {
        a.reactor.runInReactor(Effect.succeed("x")).stash()
        return false
      } catch (error) {
        return error instanceof StoreUnavailable
      }
    }, 5_000)
    const second = await startRedis(first.port)
    cleanups.push(() => second.stop())
    // Each store connects again when used, at most once a second.
    const stashes = (reactor: Reactor.Reactor<never>) => () => {
      try {
        return typeof reactor.runInReactor(Effect.succeed("probe")).stash() === "string"
      } catch {
        return false
      }
    }
    await eventually(stashes(a.reactor), 10_000)
    await eventually(stashes(b.reactor), 10_000)
    const after = a.reactor.runInReactor(Effect.succeed("after")).stash()
    expect(await b.reactor.retrieve(after).wait({ timeout: "10 seconds" })).toBe("after")
  }, 30_000)
})
