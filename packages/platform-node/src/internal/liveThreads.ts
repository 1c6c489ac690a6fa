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
 *   state) to the main thread on a BroadcastChannel (`Protocol.channels`); at
 *   the end the main thread asks every reactor thread to stop on another
 *   (`reactorMain.ts` listens) and waits for them through their shared state,
 *   each within its `shutdownTimeout`. A worker that is terminated takes its reactor threads
 *   with it, without a word: the main thread forgets a worker's reactor threads
 *   (and those of the workers it started) when that worker's `exit` event
 *   comes. An announcement reaches the main thread when its event loop runs,
 *   so a thread connected in the very turn the main thread exits in is missed.
 */
import { writeSync } from "node:fs"
import {
  BroadcastChannel,
  getEnvironmentData,
  isMainThread,
  setEnvironmentData,
  threadId,
  type Worker
} from "node:worker_threads"
import { formatMillis } from "./options.ts"
import { parkUntil } from "./park.ts"
import * as Protocol from "./protocol.ts"

/** A reactor thread asked to stop: what to wait on, until when, and what to do after. */
export interface Stopping {
  readonly state: Int32Array
  /** A `performance.now()` time. */
  readonly deadline: number
  /** Once the thread left Starting/Ready or the deadline passed: reports an overrun, lets the thread go. */
  finish(atExit: boolean): void
}

/** A reactor thread this thread connected (a `ThreadReactor`). */
export interface OwnThread {
  /** Marks the client stopped (`why` says by whom) and asks the thread to stop; undefined when nothing runs. */
  stop(why: "client" | "exit"): Stopping | undefined
}

interface Announced {
  readonly state: Int32Array
  readonly label: string
  readonly shutdownTimeout: number
}

/** What a worker thread announces to the main thread on `Protocol.channels.announce`. */
type Announcement =
  | Announced & { readonly type: "started"; readonly id: string; readonly worker: number }
  | { readonly type: "ended"; readonly id: string }

/**
 * The worker thread started by the main thread that this thread descends from
 * (itself, for such a worker): when it ends, so do the threads it started.
 * Handed down to the workers this thread starts, as environment data.
 */
const workerKey = "@crochet/platform-node:worker"
const topWorker = isMainThread ? 0 : (getEnvironmentData(workerKey) as number | undefined) ?? threadId
if (!isMainThread) setEnvironmentData(workerKey, topWorker)

/** This thread's reactor threads, with the id each was announced under (worker threads only). */
const own = new Map<OwnThread, Announced & { readonly id: string | undefined }>()
/** On the main thread: the reactor threads of worker threads, by id, with the worker they descend from. */
const others = new Map<string, Announced & { readonly worker: number }>()
let rollCalls: BroadcastChannel | undefined
let exitHookInstalled = false
let hurried = false
let announced = 0

const running = (state: Int32Array): boolean => {
  const status = Atomics.load(state, Protocol.STATE)
  return status === Protocol.Starting || status === Protocol.Ready
}

/** Posts on a channel this thread does not listen to (a listening channel would receive the others' messages). */
const post = (name: string, message: unknown): void => {
  const channel = new BroadcastChannel(name)
  channel.postMessage(message)
  channel.close()
}

/** Listens on a channel without keeping the thread alive. */
const listen = (name: string, onMessage: (message: any) => void): BroadcastChannel => {
  const channel = new BroadcastChannel(name)
  channel.unref()
  channel.onmessage = (event) => onMessage((event as { readonly data: unknown }).data)
  return channel
}

const announce = ({ id, label, shutdownTimeout, state }: Announced & { readonly id: string | undefined }) => {
  if (id === undefined) return
  post(
    Protocol.channels.announce,
    { type: "started", id, state, label, shutdownTimeout, worker: topWorker } satisfies Announcement
  )
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
  if (isMainThread) return
  // Announce it again when the main thread asks (it loaded this package after this thread started some).
  rollCalls ??= listen(Protocol.channels.rollCall, () => {
    for (const thread of own.values()) announce(thread)
  })
  announce(entry)
}

/** The launch tracked for `thread` ended (shut down, died, or replaced). */
export const untrack = (thread: OwnThread): void => {
  const id = own.get(thread)?.id
  own.delete(thread)
  if (id !== undefined) post(Protocol.channels.announce, { type: "ended", id } satisfies Announcement)
}

/** Whether a reactor thread stopped because the process is ending (it set its exit mark). */
export const stoppedForExit = (state: Int32Array): boolean => Atomics.load(state, Protocol.EXITING) === 1

/** Asks every reactor thread of this thread, and (on the main thread) of the others, to stop. */
const stopEverything = (): ReadonlyArray<Stopping> => {
  const stopping = [...own.keys()].flatMap((thread) => thread.stop("exit") ?? [])
  const started = performance.now()
  const asked = [...others.values()].filter((thread) => running(thread.state))
  others.clear()
  if (asked.length > 0) post(Protocol.channels.exit, "exit")
  return [
    ...stopping,
    ...asked.map((thread): Stopping => ({
      state: thread.state,
      deadline: started + thread.shutdownTimeout,
      finish: (atExit) => {
        // Not this thread's: it cannot be terminated from here, and ends with the process.
        if (running(thread.state)) report(overrun(thread.label, thread.shutdownTimeout, false), atExit)
      }
    }))
  ]
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

/** Parks until the reactor thread has stopped or the deadline (a `performance.now()` time) has passed. */
export const awaitStop = (state: Int32Array, deadline: number): void => {
  for (;;) {
    const seen = Atomics.load(state, Protocol.SEQ)
    if (!running(state) || performance.now() >= deadline) return
    parkUntil(state, seen, deadline)
  }
}

/** {@link awaitStop} without blocking the event loop. */
const awaitStopAsync = async (state: Int32Array, deadline: number): Promise<void> => {
  for (;;) {
    const seen = Atomics.load(state, Protocol.SEQ)
    const remaining = deadline - performance.now()
    if (!running(state) || remaining <= 0) return
    const result = Atomics.waitAsync(state, Protocol.SEQ, seen, remaining)
    if (result.async) await result.value
  }
}

/** Shuts every reactor thread down when this thread exits (the `exit` event), in parallel. */
const stopAllAtExit = () => {
  if (hurried) return
  for (const thread of stopEverything()) {
    awaitStop(thread.state, thread.deadline)
    thread.finish(true)
  }
}

/**
 * Shuts every reactor thread down (this thread's and, on the main thread, the
 * others') without blocking the event loop, in parallel, each within its
 * shutdownTimeout. For NodeReactor, on a signal.
 */
export const stopAll = async (): Promise<void> => {
  await Promise.all(
    stopEverything().map(async (thread) => {
      await awaitStopAsync(thread.state, thread.deadline)
      thread.finish(false)
    })
  )
}

/** A second signal: the process exits now, and its `exit` event waits for no reactor thread. */
export const hurry = (): void => {
  hurried = true
}

/**
 * On the main thread: listens for the reactor threads of worker threads (asking those started
 * earlier to announce themselves), to shut them down at the end too, and forgets those of a worker
 * when it ends. Run once, when this module loads (`ReactorThread.ts` imports it for that).
 */
const watchWorkerThreads = (): void => {
  if (!isMainThread) return
  listen(Protocol.channels.announce, (message: Announcement) => {
    if (message.type === "started") others.set(message.id, message)
    else others.delete(message.id)
  })
  post(Protocol.channels.rollCall, "rollCall")
  installExitHook()
  process.on("worker", (worker: Worker) => {
    const id = worker.threadId
    worker.once("exit", () => {
      for (const [key, thread] of others) if (thread.worker === id) others.delete(key)
    })
  })
}

watchWorkerThreads()
