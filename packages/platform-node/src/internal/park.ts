/**
 * Parking a blocked caller, in one place. A thread parked in `Atomics.wait`
 * runs no JavaScript, so a signal handler installed with `process.on` (as
 * NodeReactor does for SIGINT/SIGTERM) cannot run on a blocked main thread,
 * and while it is installed the signal no longer ends the process either:
 * a main thread blocked in a call with no timeout could not be stopped.
 * Signals reach only the main thread's event loop in Node (worker threads never
 * see them), so no other thread can take over. Instead, a park that lasts
 * longer than {@link signalGraceMillis} takes those handlers off for the rest
 * of the park: a SIGTERM then ends the process as it would without
 * NodeReactor. The handlers are back when the park ends. No imports of `effect` here.
 */
import { isMainThread } from "node:worker_threads"
import { SEQ } from "./protocol.ts"

/** How long a park keeps the signal handlers: shorter blocks (most calls) cost nothing extra. */
const signalGraceMillis = 50

type Handler = readonly [signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void]

/** NodeReactor's signal handlers while installed (main thread only). */
let handlers: ReadonlyArray<Handler> = []

/** NodeReactor tells which signal handlers to take off during a long park (an empty list when it removes them). */
export const setSignalHandlers = (installed: ReadonlyArray<Handler>): void => {
  handlers = installed
}

/**
 * Parks until `state[SEQ]` differs from `seen` or `until` (a `performance.now()`
 * time, `Infinity` for no limit) has passed. May return early; callers re-check.
 */
export const parkUntil = (state: Int32Array, seen: number, until: number): void => {
  const remaining = until - performance.now()
  if (remaining <= 0) return
  if (handlers.length === 0 || !isMainThread || remaining <= signalGraceMillis) {
    Atomics.wait(state, SEQ, seen, remaining)
    return
  }
  if (Atomics.wait(state, SEQ, seen, signalGraceMillis) !== "timed-out") return
  const removed = handlers
  for (const [signal, listener] of removed) process.off(signal, listener)
  try {
    Atomics.wait(state, SEQ, seen, until - performance.now())
  } finally {
    for (const [signal, listener] of removed) process.on(signal, listener)
  }
}
