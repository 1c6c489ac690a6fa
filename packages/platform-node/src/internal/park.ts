/**
 * Parking a blocked caller, in one place, and NodeReactor's limit on how long
 * the main thread may stay parked.
 *
 * A thread parked in `Atomics.wait` runs no JavaScript: a SIGINT/SIGTERM that
 * reaches the process meanwhile is queued for NodeReactor's handler, which runs
 * when the main thread's event loop runs again (worker threads never see
 * signals, so no other thread can take over). The handlers stay installed
 * through every park, so no signal is lost and the app's listeners keep their
 * order. What bounds the wait for the signal is the limit: NodeReactor sets it
 * (`blockingLimit`) while its signal handlers are installed, and a caller's park
 * on the main thread that would take the main thread's time parked since its
 * event loop last ran past it throws `BlockedTooLong` instead. The count starts
 * again when the event loop runs (a `setImmediate` armed by the first park of a turn).
 */
import { isMainThread } from "node:worker_threads"
import { BlockedTooLong } from "../Errors.ts"
import { formatMillis } from "./options.ts"
import { SEQ } from "./protocol.ts"

/**
 * Parks until `state[SEQ]` differs from `seen` or `until` (a `performance.now()`
 * time, `Infinity` for no limit) has passed. May return early; callers re-check.
 */
export const parkUntil = (state: Int32Array, seen: number, until: number): void => {
  const remaining = until - performance.now()
  if (remaining > 0) Atomics.wait(state, SEQ, seen, remaining)
}

/** NodeReactor's limit (ms) on the main thread's parked time between two turns of its event loop; none when undefined. */
let limit: number | undefined
/** The main thread's parked time (ms) since its event loop last ran. */
let parked = 0
let turnWatched = false

const newTurn = () => {
  parked = 0
  turnWatched = false
}

/** NodeReactor sets the limit while its signal handlers are installed (`undefined`: none). */
export const setBlockingLimit = (millis: number | undefined): void => {
  limit = millis
}

/**
 * A caller's park (a call or a wait for its reply): {@link parkUntil}, except that on
 * the main thread under NodeReactor's limit it throws `BlockedTooLong` once the
 * limit is used up.
 */
export const parkCaller = (state: Int32Array, seen: number, until: number): void => {
  if (limit === undefined || !isMainThread) return parkUntil(state, seen, until)
  if (!turnWatched) {
    turnWatched = true
    setImmediate(newTurn)
  }
  const left = limit - parked
  if (left <= 0) throw blockedTooLong(limit)
  const started = performance.now()
  parkUntil(state, seen, Math.min(until, started + left))
  parked += performance.now() - started
}

const blockedTooLong = (limit: number): BlockedTooLong =>
  new BlockedTooLong({
    limit,
    message:
      `The main thread has been blocked in calls to other threads for ${formatMillis(limit)} since its event loop ` +
      "last ran: NodeReactor's blockingLimit, which bounds how long a SIGINT/SIGTERM can wait for a blocked main thread. " +
      "The call was not answered in time: a call's work is cancelled, as on its timeout (a start(...) handle's work goes " +
      "on, and its wait can be repeated). Later blocking calls fail like this " +
      "until the event loop runs. Give the call a timeout below the limit, make long calls off the main thread " +
      "(an async reactor.waitFor, or client.start.op(...) polled), or raise blockingLimit (Infinity turns it off)."
  })
