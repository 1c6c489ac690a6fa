/**
 * The wire protocol between a blocking caller and the thread that serves it.
 * No imports of `effect` here: the supervisor thread loads this file too and
 * must start fast. A failure travels as core's `EncodedCause`.
 *
 * A caller and a server share one `SharedArrayBuffer` (an `Int32Array` of
 * {@link slots} entries) and one `MessageChannel`:
 * - requests go caller → server as messages (a message wakes an idle thread);
 * - replies go server → caller as messages that the blocked caller reads with
 *   `receiveMessageOnPort`; after each reply the server bumps `SEQ` and
 *   `Atomics.notify`s it, which wakes the caller parked in `Atomics.wait`.
 * - `STATE` says whether the server is starting, ready, stopped or dead; every
 *   change of state bumps `SEQ` too, so a parked caller always wakes.
 */

import type { EncodedCause } from "@crochet/core/EncodedCause"

export type { EncodedCause }

/** Index of the wake-up counter. */
export const SEQ = 0
/** Index of the server state. */
export const STATE = 1
/**
 * Index of the request counter: in low-latency mode a caller bumps it and
 * `Atomics.notify`s it after each request, so that a reactor thread waiting
 * for the next request of a burst (`Atomics.wait`, no event loop) wakes.
 */
export const REQ = 2
/**
 * Index of the process-exit mark of a reactor thread: the thread sets it to 1
 * when the main thread asked every reactor thread to stop because the process
 * is ending (`liveThreads.ts`), before it shuts down.
 */
export const EXITING = 3
/**
 * Indexes of a MainThreadBridge endpoint's release counters: the main thread
 * bumps `RELEASED` each time it releases the worker's call because its reactor
 * is stopping; the worker sets `HANDLED` to it once its own handling of the
 * failure has run (see `released.ts`).
 */
export const RELEASED = 4
export const HANDLED = 5
/** Number of Int32 slots in the shared buffer. */
export const slots = 6

/** The reactor thread is starting: loading its module and building its layer. */
export const Starting = 0
export const Ready = 1
/** Shut down on purpose (client.shutdown(), bridge.close(), process exit). */
export const Stopped = 2
/** The reactor thread died (crash, process.exit in it, out of memory). */
export const Dead = 3
/** The reactor thread could not start (module or layer). */
export const StartFailed = 4

/** Request kinds, the first element of a request tuple. */
export const Call = 0
export const Cancel = 1
export const Shutdown = 2

/** A caller's active OpenTelemetry span, sent with a call only when the caller has one: its ids and sampled flag. */
export type WireTrace = readonly [traceId: string, spanId: string, sampled: boolean]

/**
 * `[Call, id, operation, args, timeoutMillis, trace]`, `[Cancel, id]`, `[Shutdown]`. The call's
 * timeout travels with it: the serving reactor times the work out (its span records it); the
 * caller stops waiting at the same deadline.
 */
export type Request =
  | readonly [
    typeof Call,
    id: number,
    operation: string,
    args: ReadonlyArray<unknown>,
    timeoutMillis: number | undefined,
    trace: WireTrace | undefined
  ]
  | readonly [typeof Cancel, number]
  | readonly [typeof Shutdown]

/** Reply statuses, the second element of a reply tuple. */
export const Success = 0
export const Failure = 1

/** `[id, Success, value]` or `[id, Failure, EncodedCause]`; control messages are objects. */
export type Reply = readonly [number, typeof Success, unknown] | readonly [number, typeof Failure, EncodedCause]

/** What a server tells its callers once it is ready: its operations and their default timeouts (ms). */
export interface ReadyInfo {
  readonly type: "ready"
  readonly operations: ReadonlyArray<string>
  readonly timeouts: Readonly<Record<string, number>>
}

/** The server could not start: why, and the error that stopped it (a Cause with that defect). */
export interface StartFailedInfo {
  readonly type: "startFailed"
  readonly message: string
  readonly error: EncodedCause | undefined
}

/** The reactor thread died: it said why as it ended, or the supervisor saw it end without a word. */
export interface DiedInfo {
  readonly type: "died"
  readonly reason: string
  /** The uncaught error it died of (class, message, stack, fields), when it died of one. */
  readonly error: EncodedCause | undefined
}

export type Control = ReadyInfo | StartFailedInfo | DiedInfo

/**
 * The BroadcastChannels of `liveThreads.ts`, one per kind of message, so that
 * a thread receives only what it listens for (the first message a thread
 * receives on a BroadcastChannel costs it 0.1–0.2 s of loading): worker
 * threads announce their reactor threads to the main thread; the main thread
 * asks the workers to announce them again (when it loads this package after
 * they started them), and every reactor thread to stop when the process ends.
 */
export const channels = {
  announce: "@crochet/platform-node:reactor-threads",
  rollCall: "@crochet/platform-node:roll-call",
  exit: "@crochet/platform-node:exit"
} as const

/**
 * The URL of a worker entry module of this package next to `base` (an
 * `import.meta.url`): `.ts` when running from the sources, `.js` from the
 * built package. (`new URL("./x.ts", import.meta.url)` is a string, so
 * TypeScript's import rewriting does not reach it.)
 */
export const entryModule = (path: string, base: string): URL =>
  new URL(`${path}${base.endsWith(".ts") ? ".ts" : ".js"}`, base)

/** A thrown value as text, whatever it is (an object without `toString` too). */
export const describeThrown = (thrown: unknown): string => {
  try {
    return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)
  } catch {
    return Object.prototype.toString.call(thrown)
  }
}

/** Bumps the wake-up counter and wakes every parked caller. */
export const wake = (state: Int32Array): void => {
  Atomics.add(state, SEQ, 1)
  Atomics.notify(state, SEQ)
}

/** Sets the state and wakes every parked caller. */
export const setState = (state: Int32Array, value: number): void => {
  Atomics.store(state, STATE, value)
  wake(state)
}

/**
 * Adaptive spinning. Spinning (busy-polling instead of sleeping) only pays
 * when the other thread answers within the spin and has a core of its own to
 * do it on; when cores are scarce the two spinning threads take turns on one
 * core and every call gets slower than without spinning. So: spin while it
 * pays; after a spin that caught nothing, skip the next 1, 2, 4 … 64 spins.
 */
export class SpinBudget {
  private skip = 0
  private backoff = 1
  /** Whether to spin this time. */
  shouldSpin(): boolean {
    if (this.skip === 0) return true
    this.skip--
    return false
  }
  /** The spin caught what it waited for. */
  paid(): void {
    this.backoff = 1
  }
  /** The spin ran out without catching anything. */
  wasted(): void {
    this.skip = this.backoff
    this.backoff = Math.min(this.backoff * 2, 64)
  }
}

/** A global mark on threads that run a reactor: a blocking wait there would deadlock it. */
export const reactorThreadMark: unique symbol = Symbol.for("@crochet/platform-node/reactorThread") as never
