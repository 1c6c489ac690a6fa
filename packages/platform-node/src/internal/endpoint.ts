/**
 * The caller's end of the channel to a serving thread (what a
 * `MainThreadBridge.Endpoint` describes, opened; a reactor thread's is made
 * when the thread starts): the shared state, the port, and the replies
 * awaited on it. Send a request, park in `Atomics.wait` until the server bumps
 * the wake-up counter, read the reply with `receiveMessageOnPort`. Nothing
 * here needs the caller's event loop.
 */
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads"
import { NotCloneable } from "../Errors.ts"
import { classInstanceIn } from "./cloneable.ts"
import { parkCaller, parkUntil } from "./park.ts"
import * as Protocol from "./protocol.ts"
import * as Released from "./released.ts"

/** What `await` returns when the deadline passed first. */
export const TimedOut = Symbol("TimedOut")
/** What `await` returns when the server went away without replying. */
export const Gone = Symbol("Gone")

/**
 * One endpoint of one serving thread. A reactor thread that dies and is
 * started again gets a new endpoint.
 */
export class Endpoint {
  readonly state: Int32Array
  readonly port: MessagePort
  readonly control: MessagePort | undefined
  info: Protocol.ReadyInfo | undefined
  /** Low-latency mode: whether spinning before parking pays (see `Protocol.SpinBudget`). */
  private readonly spinBudget = new Protocol.SpinBudget()
  /** Low-latency mode: bump and notify the request counter after each request (see `Protocol.REQ`). */
  notifyRequests = false
  startFailure: Protocol.StartFailedInfo | undefined
  /** Why the serving thread died, once it did. */
  death: string | undefined
  /** The uncaught error it died of, as it came across. */
  deathError: Protocol.EncodedCause | undefined
  /** Whether some caller was released with the death (else it is logged: see `threadReactor.ts`). */
  deathReported = false
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

  /** Whether the server may still answer: starting or ready. */
  get serving(): boolean {
    const status = this.status
    return status === Protocol.Starting || status === Protocol.Ready
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
      // A failure may be a MainThreadBridge worker's release at shutdown: the main thread waits for its handling.
      if (reply[1] === Protocol.Failure) Released.acknowledgeLater(this.state)
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
        this.deathError ??= message.error
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
        if (!this.serving) {
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

  /** Waits until the state leaves `Starting` or the deadline passes. */
  awaitStart(deadline: number): void {
    this.awaitStateChange(Protocol.Starting, deadline)
    this.drain()
  }

  /** Waits while the state is one of `states`, or until the deadline (a `performance.now()` time). */
  awaitStateChange(states: number | ReadonlyArray<number>, deadline: number): void {
    const waiting = typeof states === "number"
      ? (status: number) => status === states
      : (status: number) => states.includes(status)
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
      `${
        typeof error === "string" ? error : (error as Error)?.message ?? error
      }. Pass plain data (objects, arrays, strings, numbers, Maps, typed arrays); ` +
      "functions, sockets and class instances with methods do not cross threads. Nothing was sent."
  })
}

const describe = (value: unknown): string => {
  if (typeof value === "function") return `a function${value.name ? ` ${value.name}` : ""}`
  if (typeof value === "object" && value !== null) return `a ${value.constructor?.name ?? "object"}`
  return typeof value
}
