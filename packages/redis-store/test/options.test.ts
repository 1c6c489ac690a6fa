import { InvalidArgument } from "@crochet/core"
import { RedisResultStore, StoreUnavailable } from "@crochet/redis-store"
import { createServer } from "node:net"
import { describe, expect, it } from "vitest"

/** A loopback port nothing listens on: bound, then released. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

describe("RedisResultStore options and a missing Redis", () => {
  it("an unknown option key is InvalidArgument naming the nearest valid one", () => {
    expect(() => RedisResultStore.make({ tll: "1 hour" } as never)).toThrow(
      /^RedisResultStore.make: unknown option `tll`; did you mean `ttl`\?/
    )
    expect(() => RedisResultStore.make({ URL: "redis://127.0.0.1:6379" } as never)).toThrow(InvalidArgument)
    expect(() => RedisResultStore.make({ URL: "redis://127.0.0.1:6379" } as never)).toThrow("did you mean `url`?")
    expect(() => RedisResultStore.layerRedis({ url: "redis://127.0.0.1:6379" } as never)).toThrow(
      /^RedisResultStore.layerRedis: unknown option `url`\. The options are `prefix`/
    )
  })

  it("ready() fails fast when no Redis listens: one StoreUnavailable naming the URL and how to start Redis", async () => {
    const port = await closedPort()
    const store = RedisResultStore.make({ url: `redis://127.0.0.1:${port}` })
    const error = await store.ready().then(() => undefined, (error: unknown) => error)
    expect(error).toBeInstanceOf(StoreUnavailable)
    const message = (error as StoreUnavailable).message
    expect(message).toContain(`redis://127.0.0.1:${port}`)
    expect(message).toContain("ECONNREFUSED")
    expect(message).toContain(`redis-server --port ${port} --save ""`)
    expect(message.split("\n")).toHaveLength(1)
    await store.close()
  })
})
