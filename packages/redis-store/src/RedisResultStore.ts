/**
 * A `ResultStore` on Redis (a single server or a Redis Cluster), shared by
 * every process that points at it: `result.stash()` in one process,
 * `reactor.retrieve(id)` in another (behind a load balancer) gives a handle
 * whose `wait`, `poll`, `cancel` and `originalFailure` work across processes.
 * Waits are woken by Redis itself (sharded pub/sub), not by polling.
 *
 * @since 0.1.0
 */
import { InvalidArgument, ResultStore } from "@crochet/core"
import { checkOptions, decodeDuration } from "@crochet/core/Bridge"
import type { ErrorClass } from "@crochet/core/EncodedCause"
import { NodeRedis } from "@effect/platform-node/NodeRedis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createClient, createCluster } from "redis"
import { errorClasses, makeExitCodec } from "./internal/codec.ts"
import { type Connection, makeConnection } from "./internal/connection.ts"
import { Keys } from "./internal/scripts.ts"
import { millis, type StoreSettings } from "./internal/settings.ts"
import { makeStore } from "./internal/store.ts"

/**
 * Options of {@link make}. Every duration is an Effect `Duration.Input`
 * (`"5 seconds"`, `5000`, `Duration.seconds(5)`); a bad one throws core's
 * `InvalidArgument` at `make`.
 *
 * @example
 * ```ts
 * import type { RedisResultStore } from "@crochet/redis-store"
 *
 * const options: RedisResultStore.Options = {
 *   url: "redis://127.0.0.1:6379",
 *   ttl: "1 hour",
 *   ownerHeartbeat: "2 seconds",
 *   ownerLostAfter: "6 seconds"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The Redis server, `redis://[[user]:password@]host[:port][/db]`. Default: `redis://127.0.0.1:6379`. */
  readonly url?: string | undefined
  /** More node-redis client options (`socket`, `username`, TLS...); `url` wins over `client.url`. */
  readonly client?: Parameters<typeof createClient>[0] | undefined
  /**
   * A Redis Cluster instead of one server: node-redis `createCluster` options,
   * at least `rootNodes` (say `[{ url: "redis://10.0.0.1:6379" }]`; the others
   * are discovered). `url` and `client` are then not used.
   */
  readonly cluster?: Parameters<typeof createCluster>[0] | undefined
  /** Prefix of every key and channel the store uses (no `{` or `}`). Default: `"crochet:"`. */
  readonly prefix?: string | undefined
  /** How long a result (and its claim) is kept after it is done or retrieved. Default: 1 hour. */
  readonly ttl?: Duration.Input | undefined
  /** How often a process that owns running work refreshes its heartbeat (one per process, not per result). Default: 2 seconds. */
  readonly ownerHeartbeat?: Duration.Input | undefined
  /**
   * A retriever whose owner has not refreshed its heartbeat for this long
   * fails with `OwnerLost` (checked every `ownerHeartbeat`). Also how long
   * a retriever waits (plus `commandTimeout`) for the record of a freshly
   * stashed id to appear, and how long it rides out a Redis outage. Must be
   * longer than `ownerHeartbeat`. Default: 6 seconds.
   */
  readonly ownerLostAfter?: Duration.Input | undefined
  /** The most one Redis command (or the connection) may take before it is a `StoreUnavailable`. Default: 5 seconds. */
  readonly commandTimeout?: Duration.Input | undefined
  /**
   * Your error classes (say `[NotFound, Timeout]`: `Data.TaggedError`,
   * `Schema.TaggedError` or `Error` subclasses), for the retrieving
   * process: a failure whose `_tag` (or, without one, `name`) is one of
   * theirs comes back as an instance of that class (`instanceof` works).
   * The toolkit's own errors, Effect's and JavaScript's come back as
   * themselves anyway; any other failure is a plain `Error` with the same
   * `name`, `message`, `_tag`, fields and stack. The same option as
   * `ReactorThread.connect`'s. Anything but an array of classes (a Schema,
   * as this option took before) throws `InvalidArgument` at `make`.
   */
  readonly errors?: ReadonlyArray<ErrorClass> | undefined
}

/**
 * A Redis-backed `ResultStore` that can be closed. It connects on first use,
 * reconnects after Redis comes back, and does not keep the process alive
 * when idle.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { RedisResultStore } from "@crochet/redis-store"
 *
 * await using store = RedisResultStore.make({ url: "redis://127.0.0.1:6379" })
 * const reactor = Reactor.setup(Layer.empty, { resultStore: store })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisResultStore extends ResultStore.ResultStore, AsyncDisposable {
  /**
   * Connects now (the store otherwise connects on first use) and resolves
   * once Redis answers; rejects with `StoreUnavailable` saying which URL was
   * tried and how to start Redis. Await it at start-up to fail fast when
   * Redis is missing.
   */
  ready(): Promise<void>
  /**
   * Closes the connection, once the results this store is publishing landed
   * (each tried once) and the replies under way came (each waited for up to
   * `commandTimeout`). Later calls fail with `StoreUnavailable`. Idempotent.
   */
  close(): Promise<void>
}

/**
 * Makes a Redis result store for `Reactor.setup(layer, { resultStore })` or
 * `Reactor.make({ resultStore })` (with `cluster`, on a Redis Cluster).
 * Nothing connects until the first `stash` or `retrieve`.
 *
 * - `stash()` returns an id at once; the result is published in the
 *   background. A result that is already done and cannot be encoded (its
 *   value is not JSON) throws `UnencodableResult`; one that completes later
 *   with such a value is stored as that error instead. When the store knows
 *   Redis is down, `stash()` throws `StoreUnavailable`.
 * - `reactor.retrieve(id)` in any process returns a handle at once; its
 *   work claims the id (exactly one retriever wins; the others, and unknown
 *   or expired ids, get `ResultNotFound`), then waits for the owner's Exit.
 *   The owner's completion wakes it through Redis pub/sub; `cancel()` on it
 *   reaches the owner's work the same way. If the owner dies, the wait fails
 *   with `OwnerLost` within `ownerLostAfter` + `ownerHeartbeat`.
 *   If the owner's reactor shuts down first, it fails with `ReactorStopped`.
 *   If Redis goes away for longer than `ownerLostAfter`, it fails with
 *   `StoreUnavailable`. Ordinary work of the reactor is never affected.
 *
 * @example
 * ```ts no-run
 * import { Effect, Layer } from "effect"
 * import { Reactor } from "@crochet/core"
 * import { RedisResultStore } from "@crochet/redis-store"
 *
 * const store = RedisResultStore.make({ url: "redis://127.0.0.1:6379", ttl: "1 hour" })
 * const reactor = Reactor.setup(Layer.empty, { resultStore: store })
 * const id = reactor.runInReactor(Effect.succeed({ pages: 3 })).stash()
 * // ...later, in this process or any other using the same Redis:
 * await reactor.retrieve(id).wait({ timeout: "5 seconds" }) // => { pages: 3 }
 * await reactor.shutdown()
 * await store.close()
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): RedisResultStore => {
  checkOptions(options, optionKeys, "RedisResultStore.make")
  const settings = decodeOptions(options, "RedisResultStore.make")
  const commandTimeout = settings.commandTimeout
  // Fail commands at once while disconnected instead of queueing them until Redis is back, and run no
  // reconnect loop of the client's own: its timers would keep an idle process alive while Redis is down.
  // The store connects again (at most once a second, or every ownerHeartbeat if shorter) when it needs to.
  const quiet = {
    disableOfflineQueue: true,
    socket: { connectTimeout: commandTimeout, reconnectStrategy: false }
  } as const
  if (options?.cluster !== undefined) {
    const cluster = options.cluster
    if (
      typeof cluster !== "object" || cluster === null || !Array.isArray(cluster.rootNodes) ||
      cluster.rootNodes.length === 0
    ) {
      throw new InvalidArgument(
        "RedisResultStore.make: options.cluster must be node-redis createCluster options with at least one root node, " +
          "such as { rootNodes: [{ url: \"redis://10.0.0.1:6379\" }] }."
      )
    }
    const where = `the Redis Cluster at ${
      cluster.rootNodes.map((node) => node.url !== undefined ? withoutPassword(node.url) : describeSocket(node.socket))
        .join(", ")
    }`
    const defaults = {
      ...quiet,
      ...cluster.defaults,
      socket: { ...quiet.socket, ...cluster.defaults?.socket }
    } as const
    // Each root node's client options as node-redis will build them: a setting it rejects is rejected here, now.
    for (const node of cluster.rootNodes) {
      acceptedBy(
        () => createClient({ ...defaults, ...node, socket: { ...defaults.socket, ...node.socket } as never }),
        "options.cluster"
      )
    }
    const nodeAddress = (host: string, port: number) => {
      const map = cluster.nodeAddressMap
      const address = `${host}:${port}`
      return (typeof map === "function" ? map(address) : map?.[address]) ?? { host, port }
    }
    return storeOn(
      makeConnection({
        where,
        external: false,
        commandTimeout: settings.commandTimeout,
        reconnectDelay: settings.reconnectDelay,
        makeClient: () => createCluster({ ...cluster, defaults: defaults as never }),
        makeNodeClient: (host, port) =>
          createClient({ ...defaults, socket: { ...defaults.socket, ...nodeAddress(host, port) } as never })
      }),
      settings
    )
  }
  const url = options?.url ?? options?.client?.url ?? "redis://127.0.0.1:6379"
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new InvalidArgument(
      `RedisResultStore.make: options.url must be a redis:// or rediss:// URL; got ${JSON.stringify(url)}.`
    )
  }
  const makeClient = () =>
    createClient({
      ...options?.client,
      ...quiet,
      url,
      socket: { ...quiet.socket, ...options?.client?.socket } as never
    })
  acceptedBy(makeClient, options?.client === undefined ? "options.url" : "options.url and options.client")
  return storeOn(
    makeConnection({
      where: withoutPassword(url),
      external: false,
      commandTimeout: settings.commandTimeout,
      reconnectDelay: settings.reconnectDelay,
      makeClient
    }),
    settings
  )
}

/**
 * The options of {@link layerRedis}: those of {@link make} but the
 * connection's own (`url`, `client`, `cluster`), which belong to the
 * `NodeRedis` layer you provide.
 *
 * @example
 * ```ts
 * import type { RedisResultStore } from "@crochet/redis-store"
 *
 * const options: RedisResultStore.StoreOptions = { ttl: "10 minutes", ownerLostAfter: "10 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StoreOptions = Omit<Options, "url" | "client" | "cluster">

/**
 * Provides a Redis `ResultStore` built on the node-redis client the
 * application already has (`@effect/platform-node`'s `NodeRedis.layer`):
 * commands share that connection; the store adds one subscriber connection
 * of its own (a subscribed connection takes no commands), which it closes.
 * The application's connection is the application's: the store never closes
 * it (it connects it only if it is not open yet when first used), and it
 * listens for its `error` events (a failure reaches the store's callers
 * through their commands). It does not fail commands at once while Redis is
 * unreachable unless you give `NodeRedis.layer` `disableOfflineQueue: true`
 * (each command still ends within `commandTimeout`).
 *
 * @example
 * ```ts no-run
 * import { Effect, Layer } from "effect"
 * import { layer as nodeRedis } from "@effect/platform-node/NodeRedis"
 * import { Reactor, ResultStore } from "@crochet/core"
 * import { RedisResultStore } from "@crochet/redis-store"
 *
 * const Store = RedisResultStore.layerRedis({ ttl: "1 hour" }).pipe(
 *   Layer.provide(nodeRedis({ url: "redis://127.0.0.1:6379", disableOfflineQueue: true }))
 * )
 * const program = Effect.gen(function*() {
 *   const reactor = yield* Reactor.make<ResultStore.ResultStore>()
 *   return reactor.runInReactor(Effect.succeed(1)).stash()
 * })
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Store)))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRedis = (options?: StoreOptions): Layer.Layer<ResultStore.ResultStore, never, NodeRedis> => {
  checkOptions(options, storeOptionKeys, "RedisResultStore.layerRedis")
  const settings = decodeOptions(options, "RedisResultStore.layerRedis")
  return Layer.effect(
    ResultStore.ResultStore,
    Effect.acquireRelease(
      Effect.map(Effect.service(NodeRedis), ({ client }) =>
        storeOn(
          makeConnection({
            where: "the application's NodeRedis client",
            external: true,
            commandTimeout: settings.commandTimeout,
            reconnectDelay: settings.reconnectDelay,
            makeClient: () => client
          }),
          settings
        )),
      (store) => Effect.promise(() => store.close())
    )
  )
}

// Written as records so that a key added to the interfaces must be added here too.
const storeOptionKeys = Object.keys(
  {
    prefix: 0,
    ttl: 0,
    ownerHeartbeat: 0,
    ownerLostAfter: 0,
    commandTimeout: 0,
    errors: 0
  } satisfies Record<keyof StoreOptions, 0>
)
const optionKeys = Object.keys(
  { url: 0, client: 0, cluster: 0 } satisfies Record<Exclude<keyof Options, keyof StoreOptions>, 0>
)
  .concat(storeOptionKeys)

/** Decodes options that `checkOptions` has let through (absent, or an object of known keys). */
const decodeOptions = (options: StoreOptions | undefined, call: string): StoreSettings => {
  const prefix = options?.prefix ?? "crochet:"
  if (typeof prefix !== "string" || /[{}]/.test(prefix)) {
    throw new InvalidArgument(
      `${call}: options.prefix must be a string without "{" or "}" (the store puts each id in braces, a Redis Cluster hash tag).`
    )
  }
  const ttl = duration(options?.ttl, call, "ttl", Duration.hours(1))
  const ownerHeartbeat = duration(options?.ownerHeartbeat, call, "ownerHeartbeat", Duration.seconds(2))
  const ownerLostAfter = duration(options?.ownerLostAfter, call, "ownerLostAfter", Duration.seconds(6))
  const commandTimeout = duration(options?.commandTimeout, call, "commandTimeout", Duration.seconds(5))
  if (!Duration.isGreaterThan(ownerLostAfter, ownerHeartbeat)) {
    throw new InvalidArgument(
      `${call}: ownerLostAfter (${Duration.format(ownerLostAfter)}) must be longer than ownerHeartbeat ` +
        `(${Duration.format(ownerHeartbeat)}), or a live owner would look lost; make it 3 heartbeats or more.`
    )
  }
  return {
    keys: new Keys(prefix),
    ttl: millis(ttl),
    ownerHeartbeat: millis(ownerHeartbeat),
    ownerLostAfter: millis(ownerLostAfter),
    commandTimeout: millis(commandTimeout),
    reconnectDelay: Math.min(millis(ownerHeartbeat), 1000),
    codec: makeExitCodec(errorClasses(options?.errors, `${call}: options.errors`))
  }
}

const storeOn = (connection: Connection, settings: StoreSettings): RedisResultStore => {
  const { close, ...store } = makeStore(connection, settings)
  return {
    ...store,
    ready: () => Effect.runPromise(Effect.asVoid(connection.send(`${settings.keys.prefix}ready`, ["PING"]))),
    close,
    [Symbol.asyncDispose]: close
  }
}

/** Builds a client (without connecting) to see that node-redis accepts the settings: what it rejects is `InvalidArgument` now, not at the first use. */
const acceptedBy = (makeClient: () => unknown, setting: string): void => {
  try {
    makeClient()
  } catch (error) {
    throw new InvalidArgument(
      `RedisResultStore.make: node-redis rejects ${setting}: ${
        error instanceof Error ? error.message : String(error)
      }. ` +
        "Fix that setting (a database is a number, redis://host:6379/0; TLS goes with rediss:// URLs)."
    )
  }
}

/**
 * Provides a Redis `ResultStore` to `Reactor.make` in an Effect application;
 * the connection is closed with the layer's scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Reactor, ResultStore } from "@crochet/core"
 * import { RedisResultStore } from "@crochet/redis-store"
 *
 * const program = Effect.gen(function*() {
 *   const reactor = yield* Reactor.make<ResultStore.ResultStore>()
 *   return reactor.runInReactor(Effect.succeed(1)).stash()
 * })
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(RedisResultStore.layer({ url: "redis://127.0.0.1:6379" }))))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<ResultStore.ResultStore> =>
  Layer.effect(
    ResultStore.ResultStore,
    Effect.acquireRelease(Effect.sync(() => make(options)), (store) => Effect.promise(() => store.close()))
  )

/** A positive, finite duration (core's decoder: a misspelt unit or NaN is `InvalidArgument` naming the option). */
const duration = (input: unknown, call: string, name: string, fallback: Duration.Duration): Duration.Duration => {
  if (input === undefined) return fallback
  const decoded = decodeDuration(input, `${call}: options.${name}`)
  if (decoded === undefined || !Duration.isGreaterThan(decoded, Duration.zero)) {
    throw new InvalidArgument(
      `${call}: options.${name} must be a positive, finite Duration.Input such as "5 seconds", ` +
        `5000 (milliseconds) or Duration.seconds(5); got ${JSON.stringify(input) ?? String(input)}.`
    )
  }
  return decoded
}

const withoutPassword = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return url
  }
}

const describeSocket = (socket: unknown): string => {
  const { host, port } = (socket ?? {}) as { readonly host?: unknown; readonly port?: unknown }
  return `${String(host ?? "127.0.0.1")}:${String(port ?? 6379)}`
}
