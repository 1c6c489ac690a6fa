/**
 * The caller's side of the protocol: send a request, park in `Atomics.wait`
 * until the server bumps the wake-up counter, read the reply with
 * `receiveMessageOnPort`. Nothing here needs the caller's event loop.
 */
import { attachCause, outsideError } from "@crochet/core/Errors"
import type * as Cause from "effect/Cause"
import type * as Exit from "effect/Exit"
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads"
import type { Blocking, CallOptions, Client, Starting, ThreadResult } from "../BlockingClient.ts"
import { NotCloneable, UnknownOperation, WrongThread } from "../Errors.ts"
import { classInstanceIn } from "./cloneable.ts"
import { decodeCause, type ErrorClasses } from "./codec.ts"
import * as Lazy from "./effectModules.ts"
import { formatMillis, optionsTimeout } from "./options.ts"
import { parkCaller, parkUntil } from "./park.ts"
import * as Protocol from "./protocol.ts"
import { activeTrace } from "./traceContext.ts"

const TimedOut = Symbol("TimedOut")
const Gone = Symbol("Gone")

/**
 * The link to one serving thread: the shared state, the port, and the replies
 * awaited on it. A reactor thread that dies and is started again gets a new link.
 */
export class Link {
  readonly state: Int32Array
  readonly port: MessagePort
  readonly control: MessagePort | undefined
  info: Protocol.ReadyInfo | undefined
  /** Low-latency mode: whether spinning before parking pays (see `Protocol.SpinBudget`). */
  private readonly spinBudget = new Protocol.SpinBudget()
  /** Low-latency mode: bump and notify the request counter after each request (see `Protocol.REQ`). */
  notifyRequests = false
  startFailure: Protocol.StartFailedInfo | undefined
  death: string | undefined
  private nextId = 1
  /** Ids someone may still read, with their reply once it came. */
  private readonly replies = new Map<number, Protocol.Reply | undefined>()

  constructor(state: Int32Array, port: MessagePort, control: MessagePort | undefined) {
    this.state = state
    this.port = port
    this.control = control
  }

  get status(): number {
    return Atomics.load(this.state, Protocol.STATE)
  }

  /** Sends a call (with the caller's span, if it has one); returns its id. */
  send(
    operation: string,
    args: ReadonlyArray<unknown>,
    timeout: number | undefined,
    trace: Protocol.WireTrace | undefined
  ): number {
    const id = this.nextId++
    for (let index = 0; index < args.length; index++) {
      const instance = classInstanceIn(args[index])
      if (instance !== undefined) {
        // An earlier argument that structured clone refuses is the first bad one.
        const earlier = args.slice(0, index).findIndex((arg) => !clonesAlone(arg))
        throw earlier >= 0
          ? notCloneable(operation, args, cloneError(args[earlier]), earlier)
          : notCloneable(operation, args, `${instance} is a class instance with methods`, index)
      }
    }
    try {
      const request: Protocol.Request = [Protocol.Call, id, operation, args, timeout, trace]
      this.port.postMessage(request)
    } catch (error) {
      throw notCloneable(operation, args, error)
    }
    if (this.notifyRequests) {
      Atomics.add(this.state, Protocol.REQ, 1)
      Atomics.notify(this.state, Protocol.REQ)
    }
    this.replies.set(id, undefined)
    return id
  }

  cancel(id: number): void {
    try {
      this.port.postMessage([Protocol.Cancel, id])
    } catch {
      // The port is closed: the server is gone and so is the work.
    }
  }

  /** Stops awaiting a reply: it is dropped when it comes. */
  forget(id: number): void {
    this.replies.delete(id)
  }

  /** Reads every message that has arrived, replies and control messages. */
  drain(): void {
    this.readPort(undefined)
    if (this.control !== undefined) {
      for (;;) {
        const next = receiveMessageOnPort(this.control)
        if (next === undefined) break
        this.onControl(next.message as Protocol.Control)
      }
    }
  }

  /** Reads replies until the one for `id` (then stops: the hot path reads one message), or until none is left. */
  private readPort(id: number | undefined): Protocol.Reply | undefined {
    for (;;) {
      const next = receiveMessageOnPort(this.port)
      if (next === undefined) return undefined
      const message = next.message as unknown
      if (!Array.isArray(message)) {
        this.onControl(message as Protocol.Control)
        continue
      }
      const reply = message as unknown as Protocol.Reply
      if (reply[0] === id) return reply
      if (this.replies.has(reply[0])) this.replies.set(reply[0], reply)
    }
  }

  private onControl(message: Protocol.Control): void {
    switch (message.type) {
      case "ready":
        this.info = message
        break
      case "startFailed":
        this.startFailure = message
        break
      case "died":
        // The calling thread may have seen the reason itself first (the Worker's `error` event).
        this.death ??= message.reason
        break
    }
  }

  /** The reply if it has come (reading what arrived), undefined if not yet. */
  take(id: number): Protocol.Reply | undefined {
    let reply = this.replies.get(id)
    if (reply === undefined) reply = this.readPort(id)
    if (reply !== undefined) this.replies.delete(id)
    return reply
  }

  /**
   * Blocks until the reply to `id`, the deadline (a `performance.now()` time),
   * or the end of the server. Spins for `spinMillis` before each park.
   */
  await(
    id: number,
    deadline: number | undefined,
    spinMillis: number,
    seenBeforeSend?: number
  ): Protocol.Reply | typeof TimedOut | typeof Gone {
    let seen = seenBeforeSend ?? 0
    let check = seenBeforeSend === undefined
    for (;;) {
      if (check) {
        seen = Atomics.load(this.state, Protocol.SEQ)
        const reply = this.take(id)
        if (reply !== undefined) return reply
        const status = this.status
        if (status !== Protocol.Ready && status !== Protocol.Launching) {
          // A reply sent just before the end still counts.
          const last = this.take(id)
          if (last !== undefined) return last
          this.replies.delete(id)
          return Gone
        }
      }
      check = true
      const remaining = deadline === undefined ? Infinity : deadline - performance.now()
      if (remaining <= 0) return TimedOut
      if (spinMillis > 0 && this.spinBudget.shouldSpin()) {
        const until = performance.now() + Math.min(spinMillis, remaining)
        while (Atomics.load(this.state, Protocol.SEQ) === seen && performance.now() < until) {
          // spin: the answer of a quick operation comes within microseconds
        }
        if (Atomics.load(this.state, Protocol.SEQ) !== seen) {
          this.spinBudget.paid()
          continue
        }
        this.spinBudget.wasted()
      }
      parkCaller(this.state, seen, deadline ?? Infinity)
    }
  }

  /** Waits until the state leaves `Launching` or the deadline passes. */
  awaitStart(deadline: number): void {
    this.awaitStateChange(Protocol.Launching, deadline)
    this.drain()
  }

  /** Waits while the state is one of `states`, or until the deadline (a `performance.now()` time). */
  awaitStateChange(states: number | ReadonlyArray<number>, deadline: number): void {
    const waiting = typeof states === "number" ? (status: number) => status === states : (status: number) => states.includes(status)
    for (;;) {
      const seen = Atomics.load(this.state, Protocol.SEQ)
      if (!waiting(this.status) || performance.now() >= deadline) return
      parkUntil(this.state, seen, deadline)
    }
  }
}

/** What structured clone throws for a value, or undefined if it clones it. */
const cloneError = (value: unknown): unknown => {
  try {
    structuredClone(value)
    return undefined
  } catch (error) {
    return error
  }
}

const clonesAlone = (value: unknown): boolean => cloneError(value) === undefined

const notCloneable = (operation: string, args: ReadonlyArray<unknown>, error: unknown, found?: number): Error => {
  let index = found ?? args.findIndex((arg) => !clonesAlone(arg))
  if (index < 0) index = 0
  return new NotCloneable({
    operation,
    argument: index,
    message: `${operation}(): argument ${index} (${describe(args[index])}) cannot be sent to another thread: ` +
      `${typeof error === "string" ? error : (error as Error)?.message ?? error}. Pass plain data (objects, arrays, strings, numbers, Maps, typed arrays); ` +
      "functions, sockets and class instances with methods do not cross threads. Nothing was sent."
  })
}

const describe = (value: unknown): string => {
  if (typeof value === "function") return `a function${value.name ? ` ${value.name}` : ""}`
  if (typeof value === "object" && value !== null) return `a ${value.constructor?.name ?? "object"}`
  return typeof value
}

/**
 * The reactor a client calls, as the client sees it: a reactor thread this
 * side starts and restarts (`ThreadReactor`), or the main thread's reactor
 * reached through an endpoint (`MainThreadReactor`).
 */
export interface RemoteReactor {
  /** Names the reactor in messages, e.g. `reactor thread dns.reactor.ts`. */
  readonly label: string
  /**
   * The live link, started and ready; throws the startup error. With a
   * `deadline` (a `performance.now()` time) it waits for a start no longer
   * than that and returns `undefined` if the thread is still starting then.
   */
  acquire(deadline?: number): Link | undefined
  /** The error for a call that was waiting when the server went away. */
  goneError(link: Link, operation: string): Error
  /** Throws `WrongThread` if blocking here would deadlock. */
  checkThread(): void
  /** Called when a call failed with a reply (after its error is made). */
  afterFailure?(): void
  shutdown(): void
}

interface ClientSettings {
  readonly timeout: number | undefined
  readonly spinMillis: number
  readonly errors: ErrorClasses
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
  readonly remote: RemoteReactor
  readonly settings: ClientSettings
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
    return (...args: Array<unknown>) => {
      const link = this.acquire(name)
      const id = link.send(name, args, undefined, this.settings.traceContext ? activeTrace() : undefined)
      const result = new ThreadResultImpl(this, link, id, name)
      abandoned.register(result, { link, id })
      return result
    }
  }

  private acquire(name: string): Link
  private acquire(name: string, deadline: number | undefined): Link | undefined
  private acquire(name: string, deadline?: number): Link | undefined {
    const link = this.remote.acquire(deadline)
    if (link === undefined) return undefined
    const info = link.info!
    if (!info.operations.includes(name)) {
      throw new UnknownOperation({
        operation: name,
        known: info.operations,
        message: `${this.remote.label} has no operation named ${JSON.stringify(name)}; it has: ` +
          `${info.operations.join(", ") || "(none)"}. Check the name, or the module the client was typed with.`
      })
    }
    return link
  }

  /** The timeout (ms) of a call: the call's own, else the operation's, else the client's. */
  private timeoutOf(link: Link, name: string, explicit: number | undefined): number | undefined {
    if (explicit !== undefined) return explicit === Infinity ? undefined : explicit
    return link.info!.timeouts[name] ?? this.settings.timeout
  }

  callBlocking(name: string, args: Array<unknown>, explicit: number | undefined, below: Function): unknown {
    this.remote.checkThread()
    const started = performance.now()
    // The call's own timeout (or the client's) bounds the wait for the reactor to start too.
    const known = explicit ?? this.settings.timeout
    const link = this.acquire(name, known === undefined || known === Infinity ? undefined : started + known)
    if (link === undefined) throw timedOut(this.remote.label, name, known!, below, true)
    const timeout = this.timeoutOf(link, name, explicit)
    const trace = this.settings.traceContext ? activeTrace() : undefined
    const seen = Atomics.load(link.state, Protocol.SEQ)
    // The timeout goes with the call and the serving reactor enforces it (its span records the
    // timeout); this side stops waiting at the same deadline, so a busy reactor thread cannot hold it.
    const deadline = timeout === undefined ? undefined : started + timeout
    const id = link.send(name, args, timeout, trace)
    const reply = link.await(id, deadline, this.settings.spinMillis, seen)
    if (reply === TimedOut) {
      link.forget(id)
      throw timedOut(this.remote.label, name, timeout!, below)
    }
    if (reply === Gone) throw withCallerFrames(this.remote.goneError(link, name), below)
    if (reply[1] === Protocol.Success) return reply[2]
    throw this.failure(reply[2], name, timeout, below).error
  }

  /**
   * A failed call's Cause, rebuilt, and the error the caller throws for it:
   * core's `outsideError` (as for an in-process caller), the serving
   * side's `Cause.pretty` under `reactorCause`, the caller's frames appended.
   */
  failure(
    encoded: Protocol.EncodedCause,
    name: string,
    timeout: number | undefined,
    below: Function
  ): { readonly cause: Cause.Cause<unknown>; readonly error: Error } {
    const cause = decodeCause(encoded, this.settings.errors)
    const error = encoded.stop?._tag === "Timeout"
      ? timedOut(this.remote.label, name, timeout ?? encoded.stop.millis, below)
      : outsideError(cause)
    if (encoded.stop?._tag === "Timeout") {
      attachCause(error, cause)
      define(error, "cause", cause)
    } else {
      define(error, "stack", `${error.stack}\n    --- (in the reactor thread) called from ---\n${callerFrames(below)}`)
    }
    define(error, "reactorCause", encoded.pretty)
    this.remote.afterFailure?.()
    return { cause, error }
  }
}

const withCallerFrames = (error: Error, below: Function): Error => {
  Object.defineProperty(error, "stack", {
    value: `${error.name}: ${error.message}\n${callerFrames(below)}`,
    writable: true,
    configurable: true
  })
  return error
}

const timedOut = (label: string, name: string, timeout: number, below: Function, starting = false): Error =>
  withCallerFrames(
    new (Lazy.Cause().TimeoutError)(
      starting
        ? `${name}() on the ${label} timed out after ${formatMillis(timeout)} while the reactor was still starting, ` +
          "so nothing was sent; it goes on starting and the next call waits for it. Raise the timeout, or call " +
          "client.ready() early to pay the start-up time up front."
        : `${name}() on the ${label} timed out after ${formatMillis(timeout)}, so its work was interrupted there; ` +
          "the reactor goes on serving other calls. While a call blocks, the calling thread's event loop is frozen: " +
          "if the work waits for something this thread serves (its own HTTP server, timers or promises), it can " +
          "never finish, whatever the timeout. Otherwise raise the timeout, or use client.start." + name +
          "(...).wait({ timeout }) to keep the work running after a timeout."
    ),
    below
  )

/** A handle dropped without being read: its reply, if it ever comes, is not kept. */
const abandoned = new FinalizationRegistry<{ readonly link: Link; readonly id: number }>(({ link, id }) =>
  link.forget(id)
)

/** How a started call ended: its value, or the error waits throw (with its Cause, unless the server went away). */
type Outcome =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: Error; readonly cause: Cause.Cause<unknown> | undefined }

class ThreadResultImpl implements ThreadResult<unknown, unknown> {
  private readonly client: ClientImpl
  private readonly link: Link
  private readonly id: number
  private readonly name: string
  private outcome: Outcome | undefined
  /** Made by the first `poll()` that finds the outcome: `wait()` needs no Exit (nor `effect/Exit`). */
  private exit: Exit.Exit<unknown, unknown> | undefined

  constructor(client: ClientImpl, link: Link, id: number, name: string) {
    this.client = client
    this.link = link
    this.id = id
    this.name = name
  }

  wait(options?: CallOptions): unknown {
    this.client.remote.checkThread()
    const timeout = optionsTimeout(options, `${this.name}(): wait()`)
    if (this.outcome === undefined) {
      const deadline = timeout === undefined ? undefined : performance.now() + timeout
      const reply = this.link.await(this.id, deadline, this.client.settings.spinMillis)
      if (reply === TimedOut) {
        throw withCallerFrames(
          new (Lazy.Cause().TimeoutError)(
            `wait() for ${this.name}() timed out after ${formatMillis(timeout!)}; the work goes on in the reactor. ` +
              "Wait again, poll() or cancel() it. (While wait() blocks, this thread's event loop is frozen: work " +
              "that waits for something this thread serves cannot finish.)"
          ),
          this.wait
        )
      }
      this.settle(reply, this.wait)
    }
    const outcome = this.outcome!
    if (outcome._tag === "Success") return outcome.value
    throw outcome.error
  }

  poll(): Exit.Exit<unknown, unknown> | undefined {
    const outcome = this.check(this.poll)
    if (outcome === undefined || this.exit !== undefined) return this.exit
    const Exit = Lazy.Exit()
    return this.exit = outcome._tag === "Success"
      ? Exit.succeed(outcome.value)
      : outcome.cause === undefined
      ? Exit.fail(outcome.error)
      : Exit.failCause(outcome.cause)
  }

  cancel(): void {
    if (this.check(this.cancel) === undefined) this.link.cancel(this.id)
  }

  originalFailure(): any {
    const exit = this.poll()
    return exit?._tag === "Failure" ? exit.cause : undefined
  }

  /** The outcome if the call has ended (reading what arrived), without blocking. */
  private check(below: Function): Outcome | undefined {
    if (this.outcome === undefined) {
      const reply = this.link.take(this.id)
      if (reply !== undefined) this.settle(reply, below)
      else {
        const status = this.link.status
        if (status !== Protocol.Ready && status !== Protocol.Launching) {
          // A reply sent just before the end still counts.
          this.settle(this.link.take(this.id) ?? Gone, below)
        }
      }
    }
    return this.outcome
  }

  private settle(reply: Protocol.Reply | typeof Gone, below: Function): void {
    if (reply === Gone) {
      this.link.forget(this.id)
      this.outcome = {
        _tag: "Failure",
        error: withCallerFrames(this.client.remote.goneError(this.link, this.name), below),
        cause: undefined
      }
    } else if (reply[1] === Protocol.Success) {
      this.outcome = { _tag: "Success", value: reply[2] }
    } else {
      this.outcome = { _tag: "Failure", ...this.client.failure(reply[2], this.name, undefined, below) }
    }
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
    shutdown: () => impl.shutdown()
  }
  return client
}


const define = (target: object, key: PropertyKey, value: unknown): void => {
  try {
    Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false })
  } catch {
    // A frozen error keeps what it has.
  }
}

/** The calling thread's frames below `below`, for the caller's side of a stack. */
const callerFrames = (below: Function): string => {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, below)
  const stack = holder.stack ?? ""
  return stack.slice(stack.indexOf("\n") + 1)
}
