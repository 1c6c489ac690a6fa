/**
 * The store's connection to Redis: commands (routed by key, so a Redis
 * Cluster works) and one sharded pub/sub subscription (`SSUBSCRIBE`) per
 * store, on a client of its own (a subscribed connection takes no commands).
 *
 * A client of our own (`make`) is built lazily, on first use, and built again
 * (at most every `reconnectDelay`) after it failed or its connection was lost: the
 * client runs no reconnect loop of its own, whose timers would keep an idle
 * process alive while Redis is down. Its sockets are unref'd, so an idle
 * store does not keep the process alive either.
 *
 * A cluster client is never built again for one node's sake: a node whose
 * connection is lost is connected again by the next command for its slots,
 * and the slot map is read again (at most every 250 ms) while commands fail,
 * so that a replica that took over is found. Ids on the other shards keep
 * working meanwhile.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { type createClient, type createCluster, ErrorReply } from "redis"
import { StoreUnavailable } from "../Errors.ts"
import type { Script } from "./scripts.ts"
import { formatMillis } from "./settings.ts"

/** A single node's client. */
type SingleClient = ReturnType<typeof createClient>
/** node-redis's Redis Cluster client. */
type ClusterClient = ReturnType<typeof createCluster>

/** Redis answered that a key holds another type of value than the store's (`WRONGTYPE`): the key is not the store's. */
export class WrongType extends Data.TaggedError("WrongType")<{ readonly reply: string }> {}

/** What the store needs from Redis. */
export interface Connection {
  /** Set once closed: every call then fails at once. */
  readonly closed: boolean
  /** Whether every command goes over one connection, so Redis runs them in the order sent (not so on a cluster). */
  readonly inOrder: boolean
  /** Why a new stash should be refused right now, when that is already known (no I/O). */
  knownDown(): StoreUnavailable | undefined
  /** A command, sent to the node that holds `key`, bounded by `commandTimeout`. */
  send<A>(key: string, args: ReadonlyArray<string>): Effect.Effect<A, StoreUnavailable | WrongType>
  /**
   * Commands written together, each to the node that holds its key: once each was answered or failed
   * (or after `commandTimeout`), each one's reply, `undefined` for a failure (a lost connection is noticed
   * as for `send`). For messages whose loss the store covers otherwise.
   */
  sendEach(
    commands: ReadonlyArray<readonly [key: string, args: ReadonlyArray<string>]>
  ): Effect.Effect<ReadonlyArray<unknown>>
  /** A script on `keys` (all in one hash slot), bounded by `commandTimeout`. */
  eval<A>(
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ): Effect.Effect<A, StoreUnavailable | WrongType>
  /**
   * Makes sure `channel` is subscribed (`SSUBSCRIBE`) with `onMessage`; done
   * once the server confirmed it. `onLost` is called when the subscription
   * is lost (subscribe again, then look again at what you were waiting for).
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onLost: () => void
  ): Effect.Effect<void, StoreUnavailable>
  close(): Promise<void>
}

export interface ConnectionSettings {
  /** Shown in error messages; no password. */
  readonly where: string
  /** Makes a new (not yet connected) client. */
  readonly makeClient: () => SingleClient | ClusterClient
  /** Whether `makeClient` makes a Redis Cluster client; then this makes a client of one of its nodes. */
  readonly makeNodeClient?: ((host: string, port: number) => SingleClient) | undefined
  /** Whether the client is the application's (never closed or rebuilt by us). */
  readonly external: boolean
  /** Milliseconds. */
  readonly commandTimeout: number
  /** How long after a failed connection attempt the next may be made (calls in between get its failure), in milliseconds. */
  readonly reconnectDelay: number
}

/** How often a cluster's slot map may be read again while commands fail. */
const rediscoverDelay = 250
/** setTimeout's longest delay (about 24.8 days): longer ones fire at once. */
const maxTimer = 2_147_483_647

/** The clients of one connection attempt: the command client, and the subscriber once subscribed. */
interface Clients {
  readonly client: SingleClient | ClusterClient
  readonly cluster: boolean
  /** Settles when connected. */
  readonly ready: Promise<void>
  connected: boolean
  /** The subscriber's own connection. */
  subscriber: SingleClient | undefined
  /** The subscription in progress or done. */
  subscribed: Promise<void> | undefined
  /** Called when the subscription is lost. */
  onLost: (() => void) | undefined
  /** On a cluster: the address of the node that serves the channel, as far as we know. */
  channelNode: string | undefined
}

export const makeConnection = (settings: ConnectionSettings): Connection => new NodeRedisConnection(settings)

class NodeRedisConnection implements Connection {
  closed = false
  private clients: Clients | undefined
  private lastFailure: StoreUnavailable | undefined
  private failedAt = 0
  private rediscoveredAt = 0
  private readonly settings: ConnectionSettings

  constructor(settings: ConnectionSettings) {
    this.settings = settings
  }

  get inOrder(): boolean {
    return this.settings.makeNodeClient === undefined
  }

  knownDown(): StoreUnavailable | undefined {
    if (this.closed) return this.closedError()
    const clients = this.clients
    if (clients === undefined) {
      if (this.lastFailure === undefined || this.failedRecently()) return this.lastFailure
      // Try again in the background, so that the next stash can succeed once Redis is back.
      this.start()?.ready.catch(() => undefined)
      return undefined
    }
    if (clients.connected && !isOpen(clients)) {
      this.lost(clients, "the connection was lost")
      return this.lastFailure
    }
    return undefined
  }

  send<A>(key: string, args: ReadonlyArray<string>): Effect.Effect<A, StoreUnavailable | WrongType> {
    return this.run((clients) => sendTo(clients, key, args) as Promise<A>)
  }

  sendEach(
    commands: ReadonlyArray<readonly [key: string, args: ReadonlyArray<string>]>
  ): Effect.Effect<ReadonlyArray<unknown>> {
    return Effect.orElseSucceed(
      this.run((clients) =>
        Promise.all(commands.map(([key, args]) =>
          sendTo(clients, key, args).catch((error: unknown) => {
            this.failure(clients, error)
            return undefined
          })
        ))
      ),
      () => commands.map(() => undefined)
    )
  }

  eval<A>(
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ): Effect.Effect<A, StoreUnavailable | WrongType> {
    const tail = [String(keys.length), ...keys, ...args.map(String)]
    return this.run(async (clients) => {
      try {
        return await sendTo(clients, keys[0]!, ["EVALSHA", script.sha, ...tail]) as A
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error
        return await sendTo(clients, keys[0]!, ["EVAL", script.lua, ...tail]) as A
      }
    })
  }

  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onLost: () => void
  ): Effect.Effect<void, StoreUnavailable> {
    return Effect.catchTag(
      this.run((clients) => {
        clients.subscribed ??= this.subscribeOn(clients, channel, onMessage).then(() => {
          clients.onLost = onLost
          if (!this.settings.external) unref(clients)
        }, (error) => {
          clients.subscribed = undefined
          throw error
        })
        return clients.subscribed
      }),
      "WrongType",
      (error) => Effect.fail(this.unavailable(error.reply, undefined))
    )
  }

  async close(): Promise<void> {
    this.closed = true
    const clients = this.clients
    this.clients = undefined
    if (clients !== undefined) await this.closeClients(clients)
  }

  /**
   * Runs `f` on a connected client, bounded by `commandTimeout`; every failure is a `StoreUnavailable`
   * but `WRONGTYPE`. One callback and one timer, no fiber of its own: once connected, the command is written at once.
   */
  private run<A>(f: (clients: Clients) => Promise<A>): Effect.Effect<A, StoreUnavailable | WrongType> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(this.closedError())
      if (this.clients === undefined && this.lastFailure !== undefined && this.failedRecently()) {
        return Effect.fail(this.lastFailure)
      }
      const clients = this.clients ?? this.start()
      if (clients === undefined) return Effect.fail(this.lastFailure!)
      return Effect.callback<A, StoreUnavailable | WrongType>((resume) => {
        let settled = false
        const settle = (outcome: Effect.Effect<A, StoreUnavailable | WrongType>) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resume(outcome)
        }
        const timeout = this.settings.commandTimeout
        const timer = setTimeout(
          () =>
            settle(
              Effect.fail(
                this.unavailable(`Redis did not answer within commandTimeout (${formatMillis(timeout)})`, undefined)
              )
            ),
          Math.min(timeout, maxTimer)
        )
        const attempt = () => {
          try {
            return f(clients)
          } catch (error) {
            return Promise.reject(error)
          }
        }
        ;(clients.connected ? attempt() : clients.ready.then(attempt)).then(
          (value) => settle(Effect.succeed(value)),
          (error) => settle(Effect.fail(this.failure(clients, error)))
        )
        return Effect.sync(() => {
          settled = true
          clearTimeout(timer)
        })
      })
    })
  }

  /** A command's failure as a `StoreUnavailable` (or `WrongType`); a connection found dead on the way is dropped. */
  private failure(clients: Clients, error: unknown): StoreUnavailable | WrongType {
    const why = describeError(error)
    if (isReply(error) && error.message.startsWith("WRONGTYPE")) return new WrongType({ reply: error.message })
    if (clients.cluster) {
      // A node of the cluster is gone or the slots moved: read the slot map again (a replica may have taken over).
      if (!isReply(error) || /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)/.test(error.message)) this.rediscover(clients)
    } else if (clients.connected && !isOpen(clients)) {
      this.lost(clients, why)
    }
    return this.unavailable(why, error)
  }

  /** Connection attempts are at least `reconnectDelay` apart: callers in between get the last failure. */
  private failedRecently(): boolean {
    return Date.now() - this.failedAt < this.settings.reconnectDelay
  }

  /** New clients, or undefined (with `lastFailure` set) when node-redis rejects the settings. */
  private start(): Clients | undefined {
    let client: SingleClient | ClusterClient
    try {
      client = this.settings.makeClient()
    } catch (error) {
      this.lastFailure = this.unavailable(`node-redis rejected the connection settings: ${describeError(error)}`, error)
      this.failedAt = Date.now()
      return undefined
    }
    const cluster = this.settings.makeNodeClient !== undefined
    // node-redis rethrows `error` events nobody listens to; failures reach us through the commands.
    client.on("error", () => undefined)
    const ready = this.settings.external && client.isOpen
      ? Promise.resolve()
      : client.connect().then(() => undefined)
    const clients: Clients = {
      client,
      cluster,
      ready,
      connected: false,
      subscriber: undefined,
      subscribed: undefined,
      onLost: undefined,
      channelNode: undefined
    }
    this.clients = clients
    if (cluster) {
      // One node's connection is gone (without a reconnect loop, its client only says "error"): that node
      // alone is connected again, by the next command for its slots.
      const nodeLost = (_error: unknown, node: { readonly host: string; readonly port: number } | undefined) => {
        if (this.clients !== clients || node === undefined) return
        const known = (client as ClusterClient).nodeByAddress.get(`${node.host}:${node.port}`)
        if (known?.client === undefined || known.client.isOpen) return
        ;(known as { client: unknown }).client = undefined
        this.rediscover(clients)
      }
      client.on("node-error", nodeLost)
      client.on(
        "node-disconnect",
        (node: { readonly host: string; readonly port: number }) => nodeLost(undefined, node)
      )
      // A node connected again later (or found by reading the slot map again) must not keep an idle process alive either.
      if (!this.settings.external) client.on("node-connect", () => unref(clients))
    }
    ready.then(() => {
      clients.connected = true
      this.lastFailure = undefined
      if (!this.settings.external) unref(clients)
      if (this.closed) void this.closeClients(clients)
    }, (error) => {
      if (this.clients === clients) this.clients = undefined
      this.lastFailure = this.unavailable(`could not connect: ${describeError(error)}`, error)
      this.failedAt = Date.now()
      if (!this.settings.external) destroy(client)
    })
    return clients
  }

  /** Reads a cluster's slot map again, in the background, at most every `rediscoverDelay`. */
  private rediscover(clients: Clients): void {
    const now = Date.now()
    if (!clients.connected || now - this.rediscoveredAt < rediscoverDelay) return
    this.rediscoveredAt = now
    const cluster = clients.client as ClusterClient
    cluster._slots.rediscover(undefined as never).then(() => unref(clients), () => undefined)
  }

  /**
   * `SSUBSCRIBE` on a subscriber connection of its own, without a reconnect loop: when it is lost (or
   * Redis moves the channel's slot away) we want to know, to look again at what was sent meanwhile.
   * On a cluster, on the node that serves the channel's slot, following `MOVED` replies.
   */
  private async subscribeOn(clients: Clients, channel: string, onMessage: (message: string) => void): Promise<void> {
    // A listener of its own per subscription: node-redis keeps listeners in a set per channel, so
    // subscribing the same function again (a resubscription) would not add a second one to unsubscribe.
    const listener = (message: string) => onMessage(message)
    let address = clients.cluster ? clients.channelNode ?? await this.nodeOf(clients, channel) : undefined
    for (let hops = 0;; hops++) {
      const subscriber = this.subscriberAt(clients, address)
      clients.subscriber = subscriber
      let lost = false
      const lose = () => {
        if (lost) return
        lost = true
        this.lost(clients, "the subscriber's connection was lost")
      }
      subscriber.on("error", () => {
        if (!subscriber.isOpen) lose()
      })
      subscriber.on("end", lose)
      // Redis moved the channel's slot to another node: node-redis drops the listener; we subscribe there.
      subscriber.on("sharded-channel-moved", lose)
      try {
        await subscriber.connect()
        subscriber.unref()
        await subscriber.sSubscribe(channel, listener)
        clients.channelNode = address
        return
      } catch (error) {
        lost = true
        if (clients.subscriber === subscriber) clients.subscriber = undefined
        destroy(subscriber)
        const moved = isReply(error) ? /^MOVED \d+ (\S+)/.exec(error.message) : null
        if (moved === null || hops >= 3) {
          clients.channelNode = undefined
          if (clients.cluster) this.rediscover(clients)
          throw error
        }
        address = moved[1]!
      }
    }
  }

  /** The address of the node that serves `channel`'s slot, from the cluster client's slot map. */
  private async nodeOf(clients: Clients, channel: string): Promise<string> {
    const cluster = clients.client as ClusterClient
    const slot = await cluster.sendCommand(channel, true, ["CLUSTER", "KEYSLOT", channel]) as number
    return cluster.getSlotMaster(slot).address
  }

  private subscriberAt(clients: Clients, address: string | undefined): SingleClient {
    if (address === undefined) {
      const client = clients.client as SingleClient
      return client.duplicate({ socket: { ...client.options?.socket, reconnectStrategy: false } as never })
    }
    const at = address.lastIndexOf(":")
    return this.settings.makeNodeClient!(address.slice(0, at), Number(address.slice(at + 1)))
  }

  /** A connection of `clients` is gone: drop it (a call builds a new one) and tell the subscriber, if any. */
  private lost(clients: Clients, why: string): void {
    if (this.clients !== clients) return
    const onLost = clients.onLost
    clients.onLost = undefined
    clients.subscribed = undefined
    if (this.settings.external || (clients.cluster && isOpen(clients))) {
      // The command client stays (the application's, open or not: never ours to drop; or a cluster's, which
      // repairs its nodes one by one); only our subscriber goes.
      const subscriber = clients.subscriber
      clients.subscriber = undefined
      if (subscriber !== undefined) destroy(subscriber)
    } else {
      this.invalidate(clients, why)
    }
    onLost?.()
  }

  /** Drops a client whose connection is gone; the next call builds a new one (then at most every `reconnectDelay` while that fails). */
  private invalidate(clients: Clients, why: string): void {
    if (this.clients !== clients || this.settings.external) return
    this.clients = undefined
    this.lastFailure = this.unavailable(why, undefined)
    void this.closeClients(clients)
  }

  /** Closes gracefully (in-flight replies arrive), or destroys the client when that takes longer than `commandTimeout`. */
  private async closeClients(clients: Clients): Promise<void> {
    const subscriber = clients.subscriber
    clients.subscriber = undefined
    if (subscriber !== undefined) destroy(subscriber)
    if (this.settings.external) return
    if (!clients.connected) {
      destroy(clients.client)
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), Math.min(this.settings.commandTimeout, maxTimer))
    })
    const outcome = await Promise.race([clients.client.close().catch(() => undefined), late])
    clearTimeout(timer)
    if (outcome === "late") destroy(clients.client)
  }

  /** When nothing listens at the URL: how to start a Redis there, or point the store at another. */
  private startHint(error: unknown): string {
    const code = errorCode(error)
    if (this.settings.makeNodeClient !== undefined || (code !== "ECONNREFUSED" && code !== "ENOTFOUND")) return ""
    let port = "6379"
    try {
      port = new URL(this.settings.where).port || port
    } catch {
      // keep the default port
    }
    return ` (is Redis running there? Start one with \`redis-server --port ${port} --save ""\`, ` +
      "or pass the URL of yours as the store's `url` option)"
  }

  private unavailable(why: string, cause: unknown): StoreUnavailable {
    return new StoreUnavailable({
      cause,
      message: `The Redis result store at ${this.settings.where} is unavailable: ${why}${this.startHint(cause)}. ` +
        "Stashed results cannot be shared until Redis is back; work that does not stash or retrieve is not affected."
    })
  }

  private closedError(): StoreUnavailable {
    return new StoreUnavailable({
      message:
        `The Redis result store at ${this.settings.where} was closed (store.close()); make a new one to stash or retrieve.`
    })
  }
}

const isOpen = (clients: Clients): boolean =>
  clients.cluster ? clients.client.isOpen : (clients.client as SingleClient).isReady

/** An error reply of Redis: Redis answered. */
const isReply = (error: unknown): error is ErrorReply => error instanceof ErrorReply

/**
 * The store's commands are bounded by its own timer (`run`, `commandTimeout`): node-redis's timeout (5 s by
 * default, an `AbortSignal.timeout` per command that covers only its wait to be written, yet fires after
 * every reply) is turned off for them.
 */
const ownTimer = { timeout: 0 }

const sendTo = (clients: Clients, key: string, args: ReadonlyArray<string>): Promise<unknown> =>
  clients.cluster
    ? (clients.client as ClusterClient).sendCommand(key, false, args as Array<string>, ownTimer)
    : (clients.client as SingleClient).sendCommand(args as Array<string>, ownTimer)

/** An idle store does not keep the process alive: pending waits and owned work hold their own timers. */
const unref = (clients: Clients): void => {
  if (!clients.cluster) {
    ;(clients.client as SingleClient).unref()
    return
  }
  for (const node of (clients.client as ClusterClient).nodeByAddress.values()) node.client?.unref()
}

const destroy = (client: SingleClient | ClusterClient): void => {
  try {
    if (client.isOpen) client.destroy()
  } catch {
    // Already gone.
  }
}

/** The system error code (`ECONNREFUSED`...) behind a connection failure, if any. */
const errorCode = (error: unknown, depth = 0): unknown => {
  if (typeof error !== "object" || error === null || depth > 5) return undefined
  const { code, cause } = error as { code?: unknown; cause?: unknown }
  if (typeof code === "string") return code
  if (error instanceof AggregateError) return errorCode(error.errors[0], depth + 1)
  return errorCode(cause, depth + 1)
}

/** What went wrong, in words: the underlying error's own message when it has one. */
const describeError = (error: unknown): string => {
  const inner = error instanceof Error && error.cause !== undefined ? error.cause : error
  if (inner instanceof AggregateError && inner.errors.length > 0) return describeError(inner.errors[0])
  if (inner instanceof Error) {
    const name = inner.constructor?.name && inner.constructor.name !== "Error" ? inner.constructor.name : inner.name
    return inner.message ? `${name}: ${inner.message}` : name
  }
  return String(inner)
}
