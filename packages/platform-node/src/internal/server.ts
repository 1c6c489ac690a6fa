/**
 * Serves blocking callers from the thread that owns a reactor: each request
 * becomes a run in the reactor (core's `reactor.runCallback`), each Exit a
 * reply plus a wake-up of the parked caller. Used in a reactor thread
 * (ReactorThread) and on the main thread (MainThreadBridge).
 */
import type { Reactor } from "@crochet/core"
import { InvalidArgument } from "@crochet/core/Errors"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Tracer from "effect/Tracer"
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads"
import type { Operations } from "../BlockingClient.ts"
import { NotCloneable } from "../Errors.ts"
import { classInstanceIn } from "./cloneable.ts"
import { encodeCause, encodeThrown } from "./codec.ts"
import * as Protocol from "./protocol.ts"
import * as Released from "./released.ts"

export interface ServeOptions {
  /** After each reply, keep reading the port synchronously for this long (ms); 0 turns it off. */
  readonly spinMillis: number
  /**
   * While doing so, sleep in `Atomics.wait` on the request counter (callers
   * bump it) after a short busy poll, instead of busy-polling all along: the
   * thread then leaves its core to others, which matters when cores are scarce.
   */
  readonly watchRequests: boolean
  /** With `watchRequests`: how long to busy-poll before sleeping on the request counter (ms). */
  readonly busyMillis: number
  /** Shuts the reactor down when a caller sends Shutdown (reactor threads); undefined: just stop serving. */
  readonly onShutdown: (() => Promise<void>) | undefined
  /**
   * MainThreadBridge: count each call that fails while the reactor is stopping as a
   * release of the worker (see `released.ts`), so that the process waits for its handling.
   */
  readonly countReleases: boolean
}

/** Serves the callers on one link (shared buffer and port) until closed. */
export class Server {
  private readonly reactor: Reactor.Reactor<any>
  private readonly operations: Operations
  private readonly port: MessagePort
  private readonly state: Int32Array
  private readonly options: ServeOptions
  /** Cancels of the calls still running, by id. */
  private readonly running = new Map<number, () => void>()
  private readonly budget = new Protocol.SpinBudget()
  private closed = false
  private stopping = false

  constructor(
    reactor: Reactor.Reactor<any>,
    operations: Operations,
    port: MessagePort,
    state: Int32Array,
    options: ServeOptions
  ) {
    this.reactor = reactor
    this.operations = operations
    this.port = port
    this.state = state
    this.options = options
    port.on("message", this.onMessage)
  }

  /** How many calls are running. */
  get inFlight(): number {
    return this.running.size
  }

  /** Shuts the reactor down (`onShutdown`), then stops serving and marks the state stopped. */
  shutdown(): void {
    if (this.stopping) return
    this.stopping = true
    const done = this.options.onShutdown?.() ?? Promise.resolve()
    void done.finally(() => {
      this.close()
      Protocol.setState(this.state, Protocol.Stopped)
      this.port.close()
    })
  }

  /** Stops serving; calls still running are interrupted (nobody waits for them any more). */
  close(): void {
    this.closed = true
    this.port.off("message", this.onMessage)
    for (const cancel of this.running.values()) cancel()
    this.running.clear()
  }

  private readonly onMessage = (request: Protocol.Request): void => {
    if (this.closed) return
    if (this.handle(request) && this.options.spinMillis > 0) this.serveBurst()
  }

  /** Handles one request; true if it was answered synchronously. */
  private handle(request: Protocol.Request): boolean {
    switch (request[0]) {
      case Protocol.Call:
        return this.call(request[1], request[2], request[3], request[4], request[5])
      case Protocol.Cancel:
        this.running.get(request[1])?.()
        return true
      case Protocol.Shutdown:
        this.shutdown()
        return false
    }
  }

  private call(
    id: number,
    name: string,
    args: ReadonlyArray<unknown>,
    timeout: number | undefined,
    trace: Protocol.WireTrace | undefined
  ): boolean {
    let settled = false
    const onExit = (exit: Exit.Exit<unknown, unknown>) => {
      settled = true
      this.running.delete(id)
      if (exit._tag === "Success") this.reply(id, name, Protocol.Success, exit.value)
      else this.reply(id, name, Protocol.Failure, encodeCause(exit.cause))
    }
    let cancel: () => void
    try {
      // The call's span (when the reactor traces) is named after the operation and, when the
      // caller sent its span, is that span's child.
      cancel = this.reactor.runCallback(this.effectOf(name, args), {
        spanName: name,
        timeout,
        parentSpan: trace === undefined
          ? undefined
          : Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] }),
        onExit
      })
    } catch (error) {
      this.reply(id, name, Protocol.Failure, encodeThrown(error))
      return true
    }
    if (!settled) this.running.set(id, cancel)
    return settled
  }

  /** The operation's Effect for these arguments (an async one's Promise as an Effect); throws a typed error for a bad name or return value. */
  private effectOf(name: string, args: ReadonlyArray<unknown>): Effect.Effect<unknown, unknown, unknown> {
    const operation = Object.hasOwn(this.operations, name) ? this.operations[name] : undefined
    if (operation === undefined) {
      throw new InvalidArgument(
        `No operation named ${JSON.stringify(name)}; known: ${Object.keys(this.operations).join(", ")}.`
      )
    }
    const result = operation(...args)
    if (Effect.isEffect(result)) return result
    // A plain async function: its rejection is a defect, as with Effect.promise.
    if (Predicate.isPromiseLike(result)) return Effect.promise(() => result)
    throw new InvalidArgument(
      `The operation ${name}() must return an Effect or a Promise (be an async function); it returned ${typeof result}.`
    )
  }

  /** Sends a reply and wakes the caller; a result that cannot be sent fails that call only. */
  private reply(
    id: number,
    name: string,
    status: typeof Protocol.Success | typeof Protocol.Failure,
    payload: unknown
  ): void {
    if (this.closed) return
    if (status === Protocol.Failure && this.options.countReleases && this.reactor.status !== "running") {
      Released.count(this.state)
    }
    try {
      if (status === Protocol.Success) {
        const instance = classInstanceIn(payload)
        if (instance !== undefined) throw new Error(`${instance} is a class instance with methods`)
      }
      this.port.postMessage([id, status, payload])
    } catch (error) {
      this.port.postMessage([id, Protocol.Failure, encodeThrown(notCloneableResult(name, error))])
    }
    Protocol.wake(this.state)
  }

  /**
   * Low-latency mode: answers the next calls of a burst without going back to
   * the event loop — busy-polling the port while that pays, then (reactor
   * threads) asleep on the request counter until the window ends.
   */
  private serveBurst(): void {
    const { busyMillis, spinMillis: spin, watchRequests: watch } = this.options
    const busy = watch ? Math.min(spin, busyMillis) : spin
    let now = performance.now()
    let until = now + spin
    let spinning = this.budget.shouldSpin()
    if (!spinning && !watch) return
    let busyUntil = spinning ? now + busy : now
    while (!this.closed) {
      const seen = Atomics.load(this.state, Protocol.REQ)
      const next = receiveMessageOnPort(this.port)
      if (next !== undefined) {
        if (spinning) this.budget.paid()
        if (!this.handle(next.message as Protocol.Request)) return
        now = performance.now()
        until = now + spin
        spinning = this.budget.shouldSpin()
        if (!spinning && !watch) return
        busyUntil = spinning ? now + busy : now
        continue
      }
      now = performance.now()
      if (spinning && now >= busyUntil) {
        this.budget.wasted()
        spinning = false
      }
      if (now >= until) return
      if (!spinning) Atomics.wait(this.state, Protocol.REQ, seen, until - now)
    }
  }
}

const notCloneableResult = (name: string, error: unknown) =>
  new NotCloneable({
    operation: name,
    argument: "result",
    message:
      `The result of ${name}() cannot be sent back to the calling thread: ${(error as Error)?.message ?? error}. ` +
      "Return plain data (objects, arrays, strings, numbers, Maps, typed arrays); this call failed, the reactor goes on serving."
  })
