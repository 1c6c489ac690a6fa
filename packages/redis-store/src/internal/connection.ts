/**
 * One lazily built `NodeRedis` layer per store, in its own scope: built on
 * first use, built again (at most once a second) after it failed or its
 * connection was lost, closed by `close()`. The client does not reconnect by
 * itself (node-redis' reconnect timers would keep an idle process alive while
 * Redis is down): the store builds a new one when it needs it. The client's
 * socket is unref'd, so an idle store does not keep the process alive.
 */
import { NodeRedis, layer as nodeRedisLayer } from "@effect/platform-node/NodeRedis"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import type * as Redis from "effect/persistence/Redis"
import { Redis as RedisKey } from "effect/persistence/Redis"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import { StoreUnavailable } from "../Errors.ts"

type Client = NodeRedis["Service"]["client"]

const reconnectDelay = 1_000
type Services = Context.Context<Redis.Redis | NodeRedis>

interface Current {
  readonly build: Fiber.Fiber<Services, Redis.RedisError>
  readonly scope: Scope.Closeable
  client: Client | undefined
  redis: Redis.Redis["Service"] | undefined
}

/** What the store needs from a connection to Redis. */
export interface Backend {
  /** Set once closed: every call then fails at once. */
  readonly closed: boolean
  /** Why a new stash should be refused right now, when that is already known (no I/O). */
  knownDown(): StoreUnavailable | undefined
  /** Runs a Redis command (or script), bounded by `commandTimeout`; every failure is a `StoreUnavailable`. */
  use<A>(f: (redis: Redis.Redis["Service"]) => Effect.Effect<A, Redis.RedisError>): Effect.Effect<A, StoreUnavailable>
  close(): Promise<void>
}

export interface ConnectionSettings {
  /** Shown in error messages; no password. */
  readonly where: string
  readonly clientOptions: Parameters<typeof nodeRedisLayer>[0]
  readonly commandTimeout: Duration.Duration
  readonly logLevel: LogLevel.LogLevel | undefined
}

export class Connection implements Backend {
  private current: Current | undefined
  private lastFailure: StoreUnavailable | undefined
  private failedAt = 0
  /** Set by close(): from then on every call fails at once. */
  closed = false
  private readonly settings: ConnectionSettings

  constructor(settings: ConnectionSettings) {
    this.settings = settings
  }

  /** Why a new stash should be refused right now, when that is already known (no I/O). */
  knownDown(): StoreUnavailable | undefined {
    if (this.closed) return this.closedError()
    const current = this.current
    if (current?.client !== undefined && !current.client.isOpen) {
      this.invalidate(current, "the connection was lost")
      return this.knownDown()
    }
    if (current === undefined) {
      const failure = this.lastFailure
      // Try again in the background, so that the next stash can succeed once Redis is back.
      if (failure !== undefined && !this.failedRecently()) this.start()
      return failure
    }
    if (current.client !== undefined && !current.client.isReady) {
      return this.unavailable("the connection is down", undefined)
    }
    return undefined
  }

  /** Runs a Redis command (or script), bounded by `commandTimeout`; every failure is a `StoreUnavailable`. */
  use<A>(f: (redis: Redis.Redis["Service"]) => Effect.Effect<A, Redis.RedisError>): Effect.Effect<A, StoreUnavailable> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(this.closedError())
      if (this.current === undefined && this.lastFailure !== undefined && this.failedRecently()) {
        return Effect.fail(this.lastFailure)
      }
      const current = this.current ?? this.start()
      const timeout = this.settings.commandTimeout
      const run = current.redis !== undefined
        ? f(current.redis)
        : Effect.flatMap(awaitFiber(current.build), (services) => f(Context.get(services, RedisKey)))
      return run.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(this.unavailable(`Redis did not answer within commandTimeout (${Duration.format(timeout)})`, undefined))
        }),
        Effect.catchCause((cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          const error = Cause.squash(cause)
          if (error instanceof StoreUnavailable) return Effect.fail(error)
          if (current.client !== undefined && !current.client.isOpen) this.invalidate(current, describeError(error))
          return Effect.fail(this.unavailable(describeError(error), error))
        })
      )
    })
  }

  /** Closes the connection; later calls fail with `StoreUnavailable`. Idempotent. */
  async close(): Promise<void> {
    this.closed = true
    const current = this.current
    this.current = undefined
    if (current !== undefined) await closeCurrent(current, this.settings.commandTimeout)
  }

  /** Connection attempts are at least `reconnectDelay` apart: callers in between get the last failure. */
  private failedRecently(): boolean {
    return Date.now() - this.failedAt < reconnectDelay
  }

  private start(): Current {
    const scope = Scope.makeUnsafe()
    let build = Layer.buildWithScope(nodeRedisLayer(this.settings.clientOptions), scope)
    // The client's background fibers (the idle-connection pool) must not keep the process alive.
    build = Effect.provideService(build, Clock.Clock, unrefClock)
    if (this.settings.logLevel !== undefined) {
      build = Effect.provideService(build, References.MinimumLogLevel, this.settings.logLevel)
    }
    const current: Current = { build: Effect.runFork(build), scope, client: undefined, redis: undefined }
    this.current = current
    current.build.addObserver((exit) => {
      if (exit._tag === "Success") {
        current.client = Context.get(exit.value, NodeRedis).client
        current.redis = Context.get(exit.value, RedisKey)
        // An idle store must not keep the process alive; pending waits hold their own timers.
        current.client.unref()
        this.lastFailure = undefined
        if (this.closed) void closeCurrent(current, this.settings.commandTimeout)
      } else {
        if (this.current === current) this.current = undefined
        const error = Cause.squash(exit.cause)
        this.lastFailure = this.unavailable(`could not connect: ${describeError(error)}`, error)
        this.failedAt = Date.now()
        Effect.runFork(Scope.close(scope, exit))
      }
    })
    return current
  }

  /** When nothing listens at the URL: how to start a Redis there, or point the store at another. */
  private startHint(error: unknown): string {
    const code = errorCode(error)
    if (code !== "ECONNREFUSED" && code !== "ENOTFOUND") return ""
    let port = "6379"
    try {
      port = new URL(this.settings.where).port || port
    } catch {
      // keep the default port
    }
    return ` (is Redis running there? Start one with \`redis-server --port ${port} --save ""\`, ` +
      "or pass the URL of yours as the store's `url` option)"
  }

  /** Drops a client whose connection is gone; a call builds a new one (at most once a second). */
  private invalidate(current: Current, why: string): void {
    if (this.current !== current) return
    this.current = undefined
    this.lastFailure = this.unavailable(why, undefined)
    this.failedAt = Date.now()
    void closeCurrent(current, this.settings.commandTimeout)
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

/**
 * A `Redis` service the application already has (for instance from
 * `NodeRedis.layer`): its connection is the application's to open and close.
 */
export class ServiceBackend implements Backend {
  closed = false
  private readonly redis: Redis.Redis["Service"]
  private readonly commandTimeout: Duration.Duration
  constructor(redis: Redis.Redis["Service"], commandTimeout: Duration.Duration) {
    this.redis = redis
    this.commandTimeout = commandTimeout
  }

  knownDown(): StoreUnavailable | undefined {
    return this.closed ? unavailable("the Redis service", "its layer was released") : undefined
  }

  use<A>(f: (redis: Redis.Redis["Service"]) => Effect.Effect<A, Redis.RedisError>): Effect.Effect<A, StoreUnavailable> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(this.knownDown()!)
      const timeout = this.commandTimeout
      return f(this.redis).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(new StoreUnavailableTimeout(timeout))
        }),
        Effect.mapError((error) =>
          unavailable(
            "the Redis service",
            error instanceof StoreUnavailableTimeout
              ? `Redis did not answer within commandTimeout (${Duration.format(timeout)})`
              : describeError(error),
            error
          )
        )
      )
    })
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

class StoreUnavailableTimeout extends Error {
  constructor(timeout: Duration.Duration) {
    super(`no answer within ${Duration.format(timeout)}`)
  }
}

const unavailable = (where: string, why: string, cause?: unknown): StoreUnavailable =>
  new StoreUnavailable({
    cause,
    message: `The Redis result store at ${where} is unavailable: ${why}. ` +
      "Stashed results cannot be shared until Redis is back; work that does not stash or retrieve is not affected."
  })

const systemClock: Clock.Clock = Effect.runSync(Clock.clockWith(Effect.succeed))

/** The system clock, but its sleeps do not keep the process alive. */
const unrefClock: Clock.Clock = {
  currentTimeMillisUnsafe: () => systemClock.currentTimeMillisUnsafe(),
  currentTimeMillis: systemClock.currentTimeMillis,
  currentTimeNanosUnsafe: () => systemClock.currentTimeNanosUnsafe(),
  currentTimeNanos: systemClock.currentTimeNanos,
  monotonicTimeNanosUnsafe: () => systemClock.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: systemClock.monotonicTimeNanos,
  sleep: (duration) => {
    const millis = Duration.toMillis(duration)
    if (!Number.isFinite(millis)) return Effect.never
    return Effect.callback<void>((resume) => {
      const timer = setTimeout(() => resume(Effect.void), Math.min(Math.max(0, millis), 2 ** 31 - 1))
      timer.unref()
      return Effect.sync(() => clearTimeout(timer))
    })
  }
}

const awaitFiber = <A, E>(fiber: Fiber.Fiber<A, E>): Effect.Effect<A, E> =>
  Effect.callback((resume) => {
    const remove = fiber.addObserver((exit) => resume(exit))
    return Effect.sync(remove)
  })

/** Closes gracefully (in-flight replies arrive), or destroys the client when that takes longer than `timeout`. */
const closeCurrent = async (current: Current, timeout: Duration.Duration): Promise<void> => {
  if (current.client === undefined) current.build.interruptUnsafe()
  const closing = Effect.runPromise(Scope.close(current.scope, Exit.void))
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), Duration.toMillis(timeout))
  })
  const outcome = await Promise.race([closing, late])
  clearTimeout(timer)
  if (outcome === "late" && current.client?.isOpen) current.client.destroy()
}

/** The system error code (`ECONNREFUSED`...) behind a connection failure, if any. */
const errorCode = (error: unknown, depth = 0): unknown => {
  if (typeof error !== "object" || error === null || depth > 5) return undefined
  const { code, cause } = error as { code?: unknown; cause?: unknown }
  if (typeof code === "string") return code
  if (error instanceof AggregateError) return errorCode(error.errors[0], depth + 1)
  return errorCode(cause, depth + 1)
}

/** What went wrong, in words: a RedisError's own cause (node-redis's or the socket's error) when it has one. */
const describeError = (error: unknown): string => {
  const inner = error instanceof Error && error.cause !== undefined ? error.cause : error
  if (inner instanceof AggregateError && inner.errors.length > 0) return describeError(inner.errors[0])
  if (inner instanceof Error) {
    const name = inner.constructor?.name && inner.constructor.name !== "Error" ? inner.constructor.name : inner.name
    return inner.message ? `${name}: ${inner.message}` : name
  }
  return String(inner)
}
