/**
 * Serves blocking callers from the thread that owns a reactor: each request
 * becomes a run in the reactor (`runInReactor`), each settled run becomes a
 * reply plus a wake-up of the parked caller. Used in a reactor thread
 * (ReactorThread) and on the main thread (MainThreadBridge).
 */
import type { EventualResult, Reactor } from "@crochet/core"
import { InvalidArgument } from "@crochet/core"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads"
import { classInstanceIn } from "./cloneable.ts"
import { encodeFailure } from "./codec.ts"
import { NotCloneable } from "../Errors.ts"
import * as Protocol from "./protocol.ts"

/** The operations a server runs, by name. */
export type Operations = Readonly<Record<string, (...args: Array<any>) => Effect.Effect<any, any, any>>>

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
}

/** A served channel: stop it to refuse further requests. */
export interface Served {
  close(): void
}

export const serve = (
  reactor: Reactor.Reactor<any>,
  operations: Operations,
  port: MessagePort,
  state: Int32Array,
  options: ServeOptions
): Served => {
  const running = new Map<number, EventualResult.EventualResult<unknown, unknown>>()
  let closed = false

  /** Sends a reply and wakes the caller; a result that cannot be cloned fails that call only. */
  const reply = (id: number, name: string, status: typeof Protocol.Success | typeof Protocol.Failure, payload: unknown) => {
    if (closed) return
    try {
      if (status === Protocol.Success) {
        const instance = classInstanceIn(payload)
        if (instance !== undefined) throw new Error(`${instance} is a class instance with methods`)
      }
      port.postMessage([id, status, payload])
    } catch (error) {
      port.postMessage([id, Protocol.Failure, encodeFailure(notCloneableResult(name, error))])
    }
    Protocol.wake(state)
  }

  const fail = (id: number, name: string, error: unknown) => reply(id, name, Protocol.Failure, encodeFailure(error))

  /** Handles one request; true if it was answered synchronously. */
  const handle = (request: Protocol.Request): boolean => {
    switch (request[0]) {
      case Protocol.Call: {
        const [, id, name, args, trace] = request
        const operation = Object.hasOwn(operations, name) ? operations[name] : undefined
        if (operation === undefined) {
          fail(id, name, new InvalidArgument(`No operation named ${JSON.stringify(name)}; known: ${Object.keys(operations).join(", ")}.`))
          return true
        }
        let result: EventualResult.EventualResult<unknown, unknown>
        try {
          const effect = operation(...args)
          if (!Effect.isEffect(effect)) {
            throw new InvalidArgument(`The operation ${name}() must return an Effect; it returned ${typeof effect}.`)
          }
          // The call's span (when the reactor traces) is named after the operation and, when the
          // caller sent its span, is that span's child and times the call out itself.
          result = reactor.runInReactor(
            effect,
            trace === undefined ? { spanName: name } : {
              spanName: name,
              parentSpan: Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] }),
              timeout: trace[3]
            }
          )
        } catch (error) {
          fail(id, name, error)
          return true
        }
        const exit = result.poll()
        if (exit !== undefined && exit._tag === "Success") {
          reply(id, name, Protocol.Success, exit.value)
          return true
        }
        running.set(id, result)
        result.wait().then(
          (value) => {
            running.delete(id)
            reply(id, name, Protocol.Success, value)
          },
          (error) => {
            running.delete(id)
            fail(id, name, error)
          }
        )
        return false
      }
      case Protocol.Cancel: {
        running.get(request[1])?.cancel()
        return true
      }
      case Protocol.Shutdown: {
        const done = options.onShutdown?.() ?? Promise.resolve()
        void done.finally(() => {
          close()
          Protocol.setState(state, Protocol.Stopped)
          port.close()
        })
        return false
      }
    }
  }

  const spin = options.spinMillis
  const watch = options.watchRequests
  const busy = watch ? Math.min(spin, options.busyMillis) : spin
  const budget = new Protocol.SpinBudget()
  const onMessage = (request: Protocol.Request) => {
    if (closed) return
    let synchronous = handle(request)
    if (spin <= 0 || !synchronous) return
    // Low-latency mode: answer the next calls of a burst without going back to
    // the event loop — busy-polling the port while that pays, then (reactor
    // threads) asleep on the request counter until the window ends.
    let now = performance.now()
    let until = now + spin
    let spinning = budget.shouldSpin()
    if (!spinning && !watch) return
    let busyUntil = spinning ? now + busy : now
    while (!closed) {
      const seen = Atomics.load(state, Protocol.REQ)
      const next = receiveMessageOnPort(port)
      if (next !== undefined) {
        if (spinning) budget.paid()
        synchronous = handle(next.message as Protocol.Request)
        if (!synchronous) return
        now = performance.now()
        until = now + spin
        spinning = budget.shouldSpin()
        if (!spinning && !watch) return
        busyUntil = spinning ? now + busy : now
        continue
      }
      now = performance.now()
      if (spinning && now >= busyUntil) {
        budget.wasted()
        spinning = false
      }
      if (now >= until) return
      if (!spinning) Atomics.wait(state, Protocol.REQ, seen, until - now)
    }
  }

  port.on("message", onMessage)

  const close = () => {
    closed = true
    port.off("message", onMessage)
    // Nobody waits for these any more: interrupt them.
    for (const result of running.values()) result.cancel()
    running.clear()
  }
  return { close }
}

const notCloneableResult = (name: string, error: unknown) =>
  new NotCloneable({
    operation: name,
    argument: "result",
    message: `The result of ${name}() cannot be sent back to the calling thread: ${(error as Error)?.message ?? error}. ` +
      "Return plain data (objects, arrays, strings, numbers, Maps, typed arrays); this call failed, the reactor goes on serving."
  })
