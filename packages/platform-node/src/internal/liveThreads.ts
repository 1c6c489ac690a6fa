/**
 * The reactor threads alive in this process, and their shutdown when it ends.
 *
 * - A thread's own reactor threads (the ones it connected) are shut down at
 *   its `exit` event (the main thread's is the process's), in parallel, each
 *   within its `shutdownTimeout`; NodeReactor shuts them down earlier on a
 *   signal, without blocking ({@link stopAll}), so that a second signal can
 *   still end the process at once ({@link hurry}).
 * - Reactor threads connected from worker threads: when the main thread exits,
 *   Node stops every worker without running its code, so a worker cannot shut
 *   its own down then. Each worker announces its reactor threads (their shared
 *   state) to the main thread on a BroadcastChannel; at the end the main thread
 *   asks every reactor thread on that channel to stop (`reactorMain.ts` listens)
 *   and waits for them through their shared state. A thread that does not
 *   acknowledge within {@link acknowledgeMillis} (its worker was terminated, or
 *   it is busy) is not waited for. An announcement reaches the main thread when
 *   its event loop runs, so a thread connected in the very turn the main thread
 *   exits in is missed.
 * No imports of `effect` here.
 */
import { writeSync } from "node:fs"
import { BroadcastChannel, isMainThread, threadId } from "node:worker_threads"
import { formatMillis } from "./options.ts"
import { parkUntil } from "./park.ts"
import * as Protocol from "./protocol.ts"

/** A reactor thread asked to stop: what to wait on, until when, and what to do after. */
export interface Stopping {
  readonly state: Int32Array
  /** A `performance.now()` time. */
  readonly deadline: number
  /** Once the thread left Launching/Ready or the deadline passed: reports an overrun, lets the thread go. */
  finish(atExit: boolean): void
}

/** A reactor thread this thread connected (a `ThreadReactor`). */
export interface OwnThread {
  /** Marks the client stopped (`why` says by whom) and asks the thread to stop; undefined when nothing runs. */
  stop(why: "client" | "exit"): Stopping | undefined
}

/** How long a reactor thread of another thread gets to acknowledge the request to stop. */
export const acknowledgeMillis = 500


type Message =
  | { readonly type: "started"; readonly id: string; readonly buffer: SharedArrayBuffer; readonly label: string; readonly shutdownTimeout: number }
  | { readonly type: "ended"; readonly id: string }
  | { readonly type: "rollCall" }
  | { readonly type: "exit" }

interface Announced {
  readonly state: Int32Array
  readonly label: string
  readonly shutdownTimeout: number
}

/** This thread's reactor threads, with the id each was announced under (worker threads only). */
const own = new Map<OwnThread, Announced & { readonly id: string | undefined }>()
/** On the main thread: the reactor threads of worker threads, by id. */
const others = new Map<string, Announced>()
let channel: BroadcastChannel | undefined
let exitHookInstalled = false
let hurried = false
let announced = 0

const running = (state: Int32Array): boolean => {
  const status = Atomics.load(state, Protocol.STATE)
  return status === Protocol.Launching || status === Protocol.Ready
}

const open = (): BroadcastChannel => {
  if (channel !== undefined) return channel
  const opened = new BroadcastChannel(Protocol.reactorThreadsChannel)
  opened.unref()
  opened.onmessage = (event) => {
    const message = (event as { readonly data: Message }).data
    if (isMainThread) {
      if (message.type === "started") {
        others.set(message.id, { state: new Int32Array(message.buffer), label: message.label, shutdownTimeout: message.shutdownTimeout })
      } else if (message.type === "ended") others.delete(message.id)
    } else if (message.type === "rollCall") {
      for (const thread of own.values()) announce(thread)
    }
  }
  return channel = opened
}

const announce = ({ id, label, shutdownTimeout, state }: Announced & { readonly id: string | undefined }) => {
  if (id !== undefined) open().postMessage({ type: "started", id, buffer: state.buffer as SharedArrayBuffer, label, shutdownTimeout } satisfies Message)
}

const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", stopAllAtExit)
}

/** A reactor thread (one launch of it) started by this thread. */
export const track = (thread: OwnThread, state: Int32Array, label: string, shutdownTimeout: number): void => {
  const entry = { state, label, shutdownTimeout, id: isMainThread ? undefined : `${threadId}:${++announced}` }
  own.set(thread, entry)
  installExitHook()
  announce(entry)
}

/** The launch tracked for `thread` ended (shut down, died, or replaced). */
export const untrack = (thread: OwnThread): void => {
  const id = own.get(thread)?.id
  own.delete(thread)
  if (id !== undefined) open().postMessage({ type: "ended", id } satisfies Message)
}

/** Whether a reactor thread stopped because the process is ending (it set its exit mark). */
export const stoppedForExit = (state: Int32Array): boolean => Atomics.load(state, Protocol.EXITING) === 1

/** Asks every reactor thread of this thread, and (on the main thread) of the others, to stop. */
const stopEverything = (): { readonly stopping: ReadonlyArray<Stopping>; readonly others: ReadonlyArray<Announced> } => {
  const stopping = [...own.keys()].flatMap((thread) => thread.stop("exit") ?? [])
  const asked = [...others.values()].filter((thread) => running(thread.state))
  others.clear()
  if (asked.length > 0) open().postMessage({ type: "exit" } satisfies Message)
  return { stopping, others: asked }
}

/** The warning for a reactor thread that overran its shutdownTimeout. */
export const overrun = (label: string, timeout: number, terminated: boolean): string =>
  `The ${label} did not shut down within ${formatMillis(timeout)} (connect's shutdownTimeout); ` +
  `${terminated ? "it was terminated, and " : ""}finalizers that had not finished did not run. ` +
  "Look for a finalizer (Effect.ensuring, acquireRelease, the layer's release) that never ends."

/** A warning: written at once at exit (an emitted warning would be printed on a tick that never comes). */
export const report = (warning: string, atExit: boolean): void => {
  if (atExit) writeSync(2, `(node:${process.pid}) ReactorThreadWarning: ${warning}\n`)
  else process.emitWarning(warning, "ReactorThreadWarning")
}

/** Parks until `done()` or the deadline (a `performance.now()` time), waking on each change of `state`. */
export const waitUntil = (state: Int32Array, done: () => boolean, deadline: number): void => {
  for (;;) {
    const seen = Atomics.load(state, Protocol.SEQ)
    if (done() || performance.now() >= deadline) return
    parkUntil(state, seen, deadline)
  }
}

/** {@link waitUntil} without blocking the event loop. */
const waitUntilAsync = async (state: Int32Array, done: () => boolean, deadline: number): Promise<void> => {
  for (;;) {
    const seen = Atomics.load(state, Protocol.SEQ)
    const remaining = deadline - performance.now()
    if (done() || remaining <= 0) return
    const result = Atomics.waitAsync(state, Protocol.SEQ, seen, remaining)
    if (result.async) await result.value
  }
}

const acknowledged = (state: Int32Array) => !running(state) || stoppedForExit(state)

/** Shuts every reactor thread down when this thread exits (the `exit` event), in parallel. */
const stopAllAtExit = () => {
  if (hurried) return
  const started = performance.now()
  const { others, stopping } = stopEverything()
  for (const thread of stopping) {
    waitUntil(thread.state, () => !running(thread.state), thread.deadline)
    thread.finish(true)
  }
  for (const { state } of others) waitUntil(state, () => acknowledged(state), started + acknowledgeMillis)
  for (const { label, shutdownTimeout, state } of others) {
    if (!stoppedForExit(state)) continue
    waitUntil(state, () => !running(state), started + shutdownTimeout)
    if (running(state)) report(overrun(label, shutdownTimeout, false), true)
  }
}

/**
 * Shuts every reactor thread down (this thread's and, on the main thread, the
 * others') without blocking the event loop, in parallel, each within its
 * shutdownTimeout. For NodeReactor, on a signal.
 */
export const stopAll = async (): Promise<void> => {
  const started = performance.now()
  const { others, stopping } = stopEverything()
  await Promise.all([
    ...stopping.map(async (thread) => {
      await waitUntilAsync(thread.state, () => !running(thread.state), thread.deadline)
      thread.finish(false)
    }),
    ...others.map(async ({ label, shutdownTimeout, state }) => {
      await waitUntilAsync(state, () => acknowledged(state), started + acknowledgeMillis)
      if (!stoppedForExit(state)) return
      await waitUntilAsync(state, () => !running(state), started + shutdownTimeout)
      if (running(state)) report(overrun(label, shutdownTimeout, false), false)
    })
  ])
}

/** A second signal: the process exits now, and its `exit` event waits for no reactor thread. */
export const hurry = (): void => {
  hurried = true
}

// On the main thread, from the moment this package is loaded: listen for the reactor threads of
// worker threads (asking those started earlier to announce themselves), to shut them down at the end too.
if (isMainThread) {
  open().postMessage({ type: "rollCall" } satisfies Message)
  installExitHook()
}
