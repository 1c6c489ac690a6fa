/**
 * The store's JSON framing of an Exit: what Redis holds is untrusted, so a
 * text that is not a stored Exit gives a named error, never a throw or a
 * nameless one; a value that is not JSON is refused, never changed.
 */
import { Reactor } from "@crochet/core"
import { CorruptResult, RedisResultStore, type UnencodableResult } from "@crochet/redis-store"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import fc from "fast-check"
import { createClient } from "redis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { errorClasses, makeExitCodec } from "../src/internal/codec.ts"
import { testOptions } from "./fixtures/options.ts"
import { type RedisServer, rejection, startRedis } from "./helpers.ts"

const codec = makeExitCodec(errorClasses(undefined, "errors"))
const id = "mxc0.00000000-0000-4000-8000-000000000000"

describe("the Exit codec", () => {
  it("a text that is not a stored Exit is CorruptResult naming the id and quoting at most 64 characters", () => {
    const garbage = [
      "not json",
      "42",
      "null",
      "\"text\"",
      "{\"_tag\":\"Other\"}",
      "{\"_tag\":\"Failure\",\"cause\":{\"reasons\":3}}",
      "x".repeat(32 << 20)
    ]
    for (const text of garbage) {
      const decoded = codec.decodeExit(text, id)
      expect(decoded).toBeInstanceOf(CorruptResult)
      const error = decoded as CorruptResult
      expect(error.id).toBe(id)
      expect(error.message).toContain(id)
      expect(error.message).toContain(JSON.stringify(text.slice(0, 64)))
      expect(error.message.length).toBeLessThan(600)
    }
    expect((codec.decodeExit("{\"_tag\":\"Failure\",\"cause\":{\"reasons\":3}}", id) as CorruptResult).message)
      .toContain("reasons is not an array")
  })

  it("decoding never throws: any text is an Exit or a CorruptResult (fast-check)", () => {
    const text = fc.oneof(
      fc.string(),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.jsonValue().map((cause) => JSON.stringify({ _tag: "Failure", cause }))
    )
    fc.assert(
      fc.property(text, (text) => {
        const decoded = codec.decodeExit(text, id)
        expect(decoded instanceof CorruptResult || Exit.isExit(decoded)).toBe(true)
      }),
      { numRuns: 500 }
    )
  })

  it("a success must be JSON as it is: the refusal names the part that is not", () => {
    const refused = (value: unknown) => (codec.encodeExit(Exit.succeed(value), id) as UnencodableResult).message
    expect(refused({ pages: [1, 2n] })).toContain("the value.pages[1] is a bigint")
    expect(refused({ at: new Date(0) })).toContain("the value.at is a Date instance")
    expect(refused({ missing: undefined })).toContain("the value.missing is undefined")
    expect(refused(Number.NaN)).toContain("the value is NaN")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(refused(cyclic)).toContain("nested deeper than 256 levels")
    expect(codec.encodeExit(Exit.succeed({ pages: [1, "two", null, { ok: true }] }), id)).toBe(
      "{\"_tag\":\"Success\",\"value\":{\"pages\":[1,\"two\",null,{\"ok\":true}]}}"
    )
  })

  it("a failure always encodes: its leaves follow the JSON policy", () => {
    const text = codec.encodeExit(Exit.failCause(Cause.fail({ at: 1n, fn: () => 1 })), id) as string
    const decoded = codec.decodeExit(text, id) as Exit.Exit<unknown, unknown>
    expect(decoded).toMatchObject({ _tag: "Failure" })
    expect(Cause.squash((decoded as Exit.Failure<unknown, unknown>).cause)).toEqual({ at: "1n", fn: "[function fn]" })
  })
})

describe("a corrupted record in Redis", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis()
  }, 20_000)
  afterAll(async () => {
    await redis?.stop()
  })

  it("the retriever's wait gets CorruptResult; another wait on the same store is not affected", async () => {
    const store = RedisResultStore.make(testOptions(redis.url))
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
    const client = createClient({ url: redis.url })
    await client.connect()
    try {
      const good = reactor.runInReactor(Effect.sleep("100 millis").pipe(Effect.as("fine"))).stash()
      const forged = `${Date.now().toString(36)}.${globalThis.crypto.randomUUID()}`
      await client.hSet(`crochet:{${forged}}:r`, {
        state: "done",
        exit: "{\"_tag\":\"Failure\",\"cause\":\"garbage\"}"
      })
      const goodWait = reactor.retrieve(good).wait({ timeout: "5 seconds" })
      const error = await rejection(reactor.retrieve(forged).wait({ timeout: "5 seconds" }))
      expect(error).toBeInstanceOf(CorruptResult)
      expect(error).toMatchObject({ _tag: "CorruptResult", id: forged })
      expect(error.message).toContain("\"{\\\"_tag\\\":\\\"Failure\\\",\\\"cause\\\":\\\"garbage\\\"}\"")
      expect(await goodWait).toBe("fine")
    } finally {
      client.destroy()
      await reactor.shutdown()
      await store.close()
    }
  })
})
