/**
 * The store's link to Redis: commands (routed by key, so a Redis Cluster
 * works) and one sharded pub/sub subscription (`SSUBSCRIBE`) per store.
 *
 * A client of our own (`make`) is built lazily, on first use, and built again
 * (at most once a second) after it failed or its connection was lost: the
 * client runs no reconnect loop of its own, whose timers would keep an idle
 * process alive while Redis is down. Its sockets are unref'd, so an idle
 * store does not keep the process alive either.
 */
import { createHash } from "node:crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { createClient, createCluster } from "redis"
import { StoreUnavailable } from "../Errors.ts"

/** A single node's client. */
export type SingleClient = ReturnType<typeof createClient>
/** node-redis's Redis Cluster client. */
export type ClusterClient = ReturnType<typeof createCluster>

/** A Lua script, run with `EVALSHA` (and `EVAL` the first time a node lacks it). */
export interface Script {
  readonly lua: string
  readonly sha: string
}

export const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") })

/** What the store needs from Redis. */
export interface Backend {
  /** Set once closed: every call then fails at once. */
  readonly closed: boolean
  /** Whether every command goes over one connection, so Redis runs them in the order sent (not so on a cluster). */
  readonly inOrder: boolean
  /** Why a new stash should be refused right now, when that is already known (no I/O). */
  knownDown(): StoreUnavailable | undefined
  /** A command, sent to the node that holds `key`, bounded by `commandTimeout`. */
  send<A>(key: string, args: ReadonlyArray<string>): Effect.Effect<A, StoreUnavailable>
  /** A script on `keys` (all in one hash slot), bounded by `commandTimeout`. */
  eval<A>(script: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>): Effect.Effect<A, StoreUnavailable>
  /**
   * Makes sure `channel` is subscribed (`SSUBSCRIBE`) with `onMessage`; done
   * once the server confirmed it. `onLost` is called when the subscription
   * is lost (subscribe again, then look again at what you were waiting for).
   */
  subscribe(channel: string, onMessage: (message: string) => void, onLost: () => void): Effect.Effect<void, StoreUnavailable>
  close(): Promise<void>
}

export interface ConnectionSettings {
  /** Shown in error messages; no password. */
  readonly where: string
  /** Makes a new (not yet connected) client. */
  readonly makeClient: () => SingleClient | ClusterClient
  /** Whether the client is the application's (never closed or rebuilt by us). */
  readonly external: boolean
  /** Whether `makeClient` makes a Redis Cluster client. */
  readonly cluster: boolean
  readonly commandTimeout: Duration.Duration
}

const reconnectDelay = 1_000
/** setTimeout's longest delay (about 24.8 days): longer ones fire at once. */
const maxTimer = 2_147_483_647

interface Current {
  readonly client: SingleClient | ClusterClient
  readonly cluster: boolean
  /** Settles when connected. */
  readonly ready: Promise<void>
  connected: boolean
  /** A single node's subscriber connection (a cluster client keeps its own). */
  subscriber: SingleClient | undefined
  /** The subscription in progress or done. */
  subscribed: Promise<void> | undefined
  /** Called when the subscription is lost. */
  onLost: (() => void) | undefined
}

export class Connection implements Backend {
  closed = false
  private current: Current | undefined
  private lastFailure: StoreUnavailable | undefined
  private failedAt = 0
  private readonly settings: ConnectionSettings

  constructor(settings: ConnectionSettings) {
    this.settings = settings
  }

  get inOrder(): boolean {
    return !this.settings.cluster
  }

  knownDown(): StoreUnavailable | undefined {
    if (this.closed) return this.closedError()
    const current = this.current
    if (current === undefined) {
      if (this.lastFailure === undefined || this.failedRecently()) return this.lastFailure
      // Try again in the background, so that the next stash can succeed once Redis is back.
      this.start().ready.catch(() => undefined)
      return undefined
    }
    if (current.connected && !isReady(current)) {
      this.lost(current, "the connection was lost")
      return this.lastFailure
    }
    return undefined
  }

  send<A>(key: string, args: ReadonlyArray<string>): Effect.Effect<A, StoreUnavailable> {
    return this.run((current) => sendTo(current, key, args) as Promise<A>)
  }

  eval<A>(script: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>): Effect.Effect<A, StoreUnavailable> {
    const tail = [String(keys.length), ...keys, ...args.map(String)]
    return this.run(async (current) => {
      try {
        return await sendTo(current, keys[0]!, ["EVALSHA", script.sha, ...tail]) as A
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error
        return await sendTo(current, keys[0]!, ["EVAL", script.lua, ...tail]) as A
      }
    })
  }

  subscribe(channel: string, onMessage: (message: string) => void, onLost: () => void): Effect.Effect<void, StoreUnavailable> {
    return this.run((current) => {
      current.subscribed ??= subscribeOn(current, channel, onMessage, () => this.lost(current, "the subscriber's connection was lost"))
        .then(() => {
          current.onLost = onLost
          if (!this.settings.external) unref(current)
        }, (error) => {
          current.subscribed = undefined
          throw error
        })
      return current.subscribed
    })
  }

  async close(): Promise<void> {
    this.closed = true
    const current = this.current
    this.current = undefined
    if (current !== undefined) await this.closeCurrent(current)
  }

  /**
   * Runs `f` on a connected client, bounded by `commandTimeout`; every failure is a `StoreUnavailable`.
   * One callback and one timer, no fiber of its own: once connected, the command is written at once.
   */
  private run<A>(f: (current: Current) => Promise<A>): Effect.Effect<A, StoreUnavailable> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(this.closedError())
      if (this.current === undefined && this.lastFailure !== undefined && this.failedRecently()) {
        return Effect.fail(this.lastFailure)
      }
      const current = this.current ?? this.start()
      return Effect.callback<A, StoreUnavailable>((resume) => {
        let settled = false
        const settle = (outcome: Effect.Effect<A, StoreUnavailable>) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resume(outcome)
        }
        const timeout = this.settings.commandTimeout
        const timer = setTimeout(() =>
          settle(Effect.fail(this.unavailable(`Redis did not answer within commandTimeout (${Duration.format(timeout)})`, undefined))),
          Math.min(Duration.toMillis(timeout), maxTimer))
        const attempt = () => {
          try {
            return f(current)
          } catch (error) {
            return Promise.reject(error)
          }
        }
        ;(current.connected ? attempt() : current.ready.then(attempt)).then(
          (value) => settle(Effect.succeed(value)),
          (error) => settle(Effect.fail(this.failure(current, error)))
        )
        return Effect.sync(() => {
          settled = true
          clearTimeout(timer)
        })
      })
    })
  }

  /** A command's failure as a `StoreUnavailable`; a connection found dead on the way is dropped. */
  private failure(current: Current, error: unknown): StoreUnavailable {
    if (error instanceof StoreUnavailable) return error
    if (current.connected && !isReady(current)) this.lost(current, describeError(error))
    return this.unavailable(describeError(error), error)
  }

  /** Connection attempts are at least `reconnectDelay` apart: callers in between get the last failure. */
  private failedRecently(): boolean {
    return Date.now() - this.failedAt < reconnectDelay
  }

  private start(): Current {
    const client = this.settings.makeClient()
    const cluster = this.settings.cluster
    // node-redis rethrows `error` events nobody listens to; failures reach us through the commands.
    client.on("error", () => undefined)
    const ready = this.settings.external && client.isOpen
      ? Promise.resolve()
      : client.connect().then(() => undefined)
    const current: Current = { client, cluster, ready, connected: false, subscriber: undefined, subscribed: undefined, onLost: undefined }
    this.current = current
    if (cluster) {
      // A node's connection (commands or sharded pub/sub) is gone: the whole client is made again, and the
      // subscription with it, rather than trusting a cluster client with a dead node inside.
      // ("node-error" is a socket's error: a command's error reply rejects that command only.)
      for (const event of ["node-error", "node-disconnect"]) {
        client.on(event, () => this.lost(current, "a connection to a node of the cluster was lost"))
      }
    }
    ready.then(() => {
      current.connected = true
      this.lastFailure = undefined
      if (!this.settings.external) unref(current)
      if (this.closed) void this.closeCurrent(current)
    }, (error) => {
      if (this.current === current) this.current = undefined
      this.lastFailure = this.unavailable(`could not connect: ${describeError(error)}`, error)
      this.failedAt = Date.now()
      if (!this.settings.external) destroy(client)
    })
    return current
  }

  /** When nothing listens at the URL: how to start a Redis there, or point the store at another. */
  private startHint(error: unknown): string {
    const code = errorCode(error)
    if (this.settings.cluster || (code !== "ECONNREFUSED" && code !== "ENOTFOUND")) return ""
    let port = "6379"
    try {
      port = new URL(this.settings.where).port || port
    } catch {
      // keep the default port
    }
    return ` (is Redis running there? Start one with \`redis-server --port ${port} --save ""\`, ` +
      "or pass the URL of yours as the store's `url` option)"
  }

  /** A connection of `current` is gone: drop it (a call builds a new one) and tell the subscriber, if any. */
  private lost(current: Current, why: string): void {
    if (this.current !== current) return
    const onLost = current.onLost
    current.onLost = undefined
    current.subscribed = undefined
    if (this.settings.external && !current.cluster) {
      // The application's client stays; only our subscriber goes.
      const subscriber = current.subscriber
      current.subscriber = undefined
      if (subscriber !== undefined) destroy(subscriber)
    } else {
      this.invalidate(current, why)
    }
    onLost?.()
  }

  /** Drops a client whose connection is gone; the next call builds a new one (then at most once a second while that fails). */
  private invalidate(current: Current, why: string): void {
    if (this.current !== current || this.settings.external) return
    this.current = undefined
    this.lastFailure = this.unavailable(why, undefined)
    void this.closeCurrent(current)
  }

  /** Closes gracefully (in-flight replies arrive), or destroys the client when that takes longer than `commandTimeout`. */
  private async closeCurrent(current: Current): Promise<void> {
    const subscriber = current.subscriber
    current.subscriber = undefined
    if (subscriber !== undefined) destroy(subscriber)
    if (this.settings.external) return
    if (!current.connected) {
      destroy(current.client)
      return
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), Duration.toMillis(this.settings.commandTimeout))
    })
    const outcome = await Promise.race([current.client.close().catch(() => undefined), late])
    clearTimeout(timer)
    if (outcome === "late") destroy(current.client)
  }

  private unavailable(why: string, cause: unknown): StoreUnavailable {
    return unavailable(this.settings.where, why + this.startHint(cause), cause)
  }

  private closedError(): StoreUnavailable {
    return new StoreUnavailable({
      message: `The Redis result store at ${this.settings.where} was closed (store.close()); make a new one to stash or retrieve.`
    })
  }
}

const isReady = (current: Current): boolean =>
  current.cluster ? current.client.isOpen : (current.client as SingleClient).isReady

const sendTo = (current: Current, key: string, args: ReadonlyArray<string>): Promise<unknown> =>
  current.cluster
    ? (current.client as ClusterClient).sendCommand(key, false, args as Array<string>)
    : (current.client as SingleClient).sendCommand(args as Array<string>)

/** `SSUBSCRIBE`: on a single node through a second connection of its own (a subscribed connection takes no commands). */
const subscribeOn = async (
  current: Current,
  channel: string,
  onMessage: (message: string) => void,
  onLost: () => void
): Promise<void> => {
  const listener = (message: string) => onMessage(message)
  if (current.cluster) {
    const cluster = current.client as ClusterClient
    await cluster.sSubscribe(channel, listener)
    return
  }
  const client = current.client as SingleClient
  // Its own reconnect would re-subscribe silently: we want to know, to look again at what was sent meanwhile.
  const subscriber = client.duplicate({ socket: { ...client.options?.socket, reconnectStrategy: false } as never })
  current.subscriber = subscriber
  let lost = false
  const lose = () => {
    if (lost) return
    lost = true
    onLost()
  }
  subscriber.on("error", () => {
    if (!subscriber.isOpen) lose()
  })
  subscriber.on("end", lose)
  try {
    await subscriber.connect()
    subscriber.unref()
    await subscriber.sSubscribe(channel, listener)
  } catch (error) {
    lost = true
    destroy(subscriber)
    throw error
  }
}

/** An idle store does not keep the process alive: pending waits and owned work hold their own timers. */
const unref = (current: Current): void => {
  if (!current.cluster) {
    ;(current.client as SingleClient).unref()
    return
  }
  const cluster = current.client as ClusterClient
  for (const node of cluster.nodeByAddress.values()) {
    node.client?.unref()
    if ("pubSub" in node) node.pubSub?.client.unref()
  }
}

const destroy = (client: SingleClient | ClusterClient): void => {
  try {
    if (client.isOpen) client.destroy()
  } catch {
    // Already gone.
  }
}

const unavailable = (where: string, why: string, cause?: unknown): StoreUnavailable =>
  new StoreUnavailable({
    cause,
    message: `The Redis result store at ${where} is unavailable: ${why}. ` +
      "Stashed results cannot be shared until Redis is back; work that does not stash or retrieve is not affected."
  })

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
