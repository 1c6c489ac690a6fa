/**
 * MainThreadBridge workers released at shutdown, and the wait for their own
 * handling. When the main thread's reactor stops, a worker blocked on it is
 * released (a `ReactorStopped` reply, or the bridge closing under it) and
 * runs its own code next: its `catch`, its clean-up after the call. The
 * process must not end under it. So the main thread counts each release in
 * the endpoint's shared state (`RELEASED`), and the worker, once its event
 * loop turns after the failed call (its handling has run) or it ends, copies
 * the count to `HANDLED`. NodeReactor waits for every count to match, up to
 * {@link handlingMillis}, before the process exits; so does
 * `MainThreadBridge.make` before its scope's services close.
 * No imports of `effect` here.
 */
import * as Protocol from "./protocol.ts"

/** How long the process waits for released workers' own handling. */
export const handlingMillis = 1000

/** Main thread: endpoints whose worker was released and may not have handled it yet. */
const released = new Set<Int32Array>()

/** Main thread: counts a release of the worker on this endpoint, before its call's reply goes out. */
export const count = (state: Int32Array): void => {
  Atomics.add(state, Protocol.RELEASED, 1)
  released.add(state)
}

/** Worker: after a failed call; when it was a release, acknowledges it once the event loop turns. */
export const acknowledgeLater = (state: Int32Array): void => {
  if (Atomics.load(state, Protocol.RELEASED) === Atomics.load(state, Protocol.HANDLED)) return
  setImmediate(() => {
    Atomics.store(state, Protocol.HANDLED, Atomics.load(state, Protocol.RELEASED))
    Atomics.notify(state, Protocol.HANDLED)
  })
}

/** Main thread: waits (without blocking) until every released worker has acknowledged, or {@link handlingMillis}. */
export const awaitHandling = async (): Promise<void> => {
  const deadline = performance.now() + handlingMillis
  const waiting = [...released]
  released.clear()
  await Promise.all(waiting.map(async (state) => {
    for (;;) {
      const handled = Atomics.load(state, Protocol.HANDLED)
      const remaining = deadline - performance.now()
      if (handled === Atomics.load(state, Protocol.RELEASED) || remaining <= 0) return
      const result = Atomics.waitAsync(state, Protocol.HANDLED, handled, remaining)
      if (result.async) await result.value
    }
  }))
}
