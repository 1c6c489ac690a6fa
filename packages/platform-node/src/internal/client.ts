/**
 * The blocking client both bridges hand out (`client.call.op(...)`,
 * `client.start.op(...)`, `with`, `ready`, `shutdown`), over the reactor it
 * calls as a {@link RemoteReactor}: a reactor thread (`threadReactor.ts`) or
 * the main thread's reactor (`mainThreadReactor.ts`).
 */
import type * as EncodedCause from "@crochet/core/EncodedCause"
import type { Blocking, CallOptions, Client, Starting } from "../BlockingClient.ts"
import { UnknownOperation, WrongThread } from "../Errors.ts"
import { failure, released, timedOut } from "./callerError.ts"
import { type Endpoint, Gone, TimedOut } from "./endpoint.ts"
import { optionsTimeout } from "./options.ts"
import * as Protocol from "./protocol.ts"
import { startCall } from "./threadResult.ts"
import { activeTrace } from "./traceContext.ts"

/**
 * The reactor a client calls, as the client sees it: a reactor thread this
 * side starts and restarts (`ThreadReactor`), or the main thread's reactor
 * reached through an endpoint (`MainThreadReactor`).
 */
export interface RemoteReactor {
  /** Names the reactor in messages, e.g. `reactor thread dns.reactor.ts`. */
  readonly label: string
  /**
   * The live endpoint, started and ready; throws the startup error. With a
   * `deadline` (a `performance.now()` time) it waits for a start no longer
   * than that and returns `undefined` if the thread is still starting then.
   */
  acquire(deadline?: number): Endpoint | undefined
  /**
   * Has the live endpoint watched for a death that runs no code (a reactor thread's
   * supervisor), if not yet: called by `ready()`, by `start(...)`, and once a call was sent, before blocking on it.
   */
  watch(): void
  /** The error for a call that was waiting when the server went away. */
  goneError(endpoint: Endpoint, operation: string): Error
  /** Throws `WrongThread` if blocking here would deadlock. */
  checkThread(): void
  shutdown(): void
}

export interface ClientSettings {
  readonly timeout: number | undefined
  readonly spinMillis: number
  readonly errors: EncodedCause.ErrorClasses
  /** Send the caller's active OpenTelemetry span with each call (see `traceContext.ts`). */
  readonly traceContext: boolean
}

/** Throws `WrongThread` in a thread that runs a reactor. */
export const checkNotReactorThread = (): void => {
  if ((globalThis as Record<PropertyKey, unknown>)[Protocol.reactorThreadMark] === true) {
    throw new WrongThread({
      message: "wait() must not be run in the reactor thread: blocking it would stop the reactor that has to answer. " +
        "Inside the reactor, call the operation's Effect directly (yield* it) instead of going through a blocking client."
    })
  }
}

class ClientImpl {
  private readonly remote: RemoteReactor
  private readonly settings: ClientSettings
  private readonly methods = new Map<string, Function>()
  private readonly starters = new Map<string, Function>()
  readonly call: Blocking<any>
  readonly start: Starting<any>

  constructor(remote: RemoteReactor, settings: ClientSettings) {
    this.remote = remote
    this.settings = settings
    this.call = this.proxy(this.methods, (name) => this.blockingMethod(name, undefined))
    this.start = this.proxy(this.starters, (name) => this.startingMethod(name))
  }

  private proxy(cache: Map<string, Function>, make: (name: string) => Function): any {
    return new Proxy(Object.create(null), {
      get: (_, name) => {
        if (typeof name !== "string") return undefined
        let method = cache.get(name)
        if (method === undefined) cache.set(name, method = make(name))
        return method
      }
    })
  }

  with(options: CallOptions): Blocking<any> {
    const timeout = optionsTimeout(options, `${this.remote.label}: with()`)
    const explicit = options?.timeout === undefined ? undefined : timeout ?? Infinity
    const cache = new Map<string, Function>()
    return this.proxy(cache, (name) => this.blockingMethod(name, explicit))
  }

  ready(): void {
    this.remote.checkThread()
    this.remote.acquire()
    this.remote.watch()
  }

  shutdown(): void {
    this.remote.shutdown()
  }

  private blockingMethod(name: string, timeout: number | undefined): Function {
    const client = this
    const method = function(...args: Array<unknown>): unknown {
      return client.callBlocking(name, args, timeout, method)
    }
    Object.defineProperty(method, "name", { value: name })
    return method
  }

  private startingMethod(name: string): Function {
    return (...args: Array<unknown>) =>
      startCall(
        this.remote,
        this.settings,
        this.acquire(name),
        name,
        args,
        this.settings.traceContext ? activeTrace() : undefined
      )
  }

  private acquire(name: string): Endpoint
  private acquire(name: string, deadline: number | undefined): Endpoint | undefined
  private acquire(name: string, deadline?: number): Endpoint | undefined {
    const endpoint = this.remote.acquire(deadline)
    if (endpoint === undefined) return undefined
    const info = endpoint.info!
    if (!info.operations.includes(name)) {
      throw new UnknownOperation({
        operation: name,
        known: info.operations,
        message: `${this.remote.label} has no operation named ${JSON.stringify(name)}; it has: ` +
          `${info.operations.join(", ") || "(none)"}. Check the name, or the module the client was typed with.`
      })
    }
    return endpoint
  }

  /** The timeout (ms) of a call: the call's own, else the operation's, else the client's. */
  private timeoutOf(endpoint: Endpoint, name: string, explicit: number | undefined): number | undefined {
    if (explicit !== undefined) return explicit === Infinity ? undefined : explicit
    return endpoint.info!.timeouts[name] ?? this.settings.timeout
  }

  private callBlocking(name: string, args: Array<unknown>, explicit: number | undefined, below: Function): unknown {
    this.remote.checkThread()
    const started = performance.now()
    // The call's own timeout (or the client's) bounds the wait for the reactor to start too.
    const known = explicit ?? this.settings.timeout
    const endpoint = this.acquire(name, known === undefined || known === Infinity ? undefined : started + known)
    if (endpoint === undefined) throw timedOut(this.remote.label, name, known!, below, true)
    const timeout = this.timeoutOf(endpoint, name, explicit)
    const trace = this.settings.traceContext ? activeTrace() : undefined
    const seen = Atomics.load(endpoint.state, Protocol.SEQ)
    // The timeout goes with the call and the serving reactor enforces it (its span records the
    // timeout); this side stops waiting at the same deadline, so a busy reactor thread cannot hold it.
    // The timeout that bounded the start (the call's own or the client's) counts from the call; an
    // operation's own, known once the thread is up, bounds the operation and counts from now.
    const deadline = timeout === undefined ? undefined : (timeout === known ? started : performance.now()) + timeout
    const id = endpoint.send(name, args, timeout, trace)
    this.remote.watch()
    let reply: ReturnType<Endpoint["await"]>
    try {
      reply = endpoint.await(id, deadline, this.settings.spinMillis, seen)
    } catch (error) {
      // Given up before the reply (NodeReactor's BlockedTooLong): nobody can read the reply any
      // more, so the work is cancelled and its slot freed, as on a timeout.
      endpoint.forget(id)
      endpoint.cancel(id)
      throw error
    }
    if (reply === TimedOut) {
      endpoint.forget(id)
      throw timedOut(this.remote.label, name, timeout!, below)
    }
    if (reply === Gone) throw released(this.remote.goneError(endpoint, name), endpoint, this.settings.errors, below)
    if (reply[1] === Protocol.Success) return reply[2]
    throw failure(reply[2], this.settings.errors, this.remote.label, name, timeout, below).error
  }
}

const clientThreadGuard = Symbol(
  "A blocking client cannot be passed to another thread; connect in that thread (see docs/threads.md)"
)

/** Assembles the public client object. */
export const makeClient = (remote: RemoteReactor, settings: ClientSettings): Client<any> => {
  const impl = new ClientImpl(remote, settings)
  const client: Client<any> & { readonly threadGuard: symbol } = {
    // Structured clone refuses symbols, quoting their description first.
    threadGuard: clientThreadGuard,
    call: impl.call,
    start: impl.start,
    with: (options) => impl.with(options),
    ready: () => impl.ready(),
    shutdown: () => impl.shutdown(),
    [Symbol.dispose]: () => impl.shutdown()
  }
  return client
}
