/**
 * The supervisor thread: watches a reactor thread. A caller blocked in
 * `Atomics.wait` cannot see a Worker's `exit` event (its event loop is
 * parked), so this small thread with an idle event loop holds one end of a
 * "lifeline" channel whose other end lives in the reactor thread. A thread's
 * ports close when it ends, however it ends, so when the lifeline closes
 * while the reactor was meant to run, the supervisor records why, marks the
 * shared state `Dead` and wakes every blocked caller.
 *
 * The reason comes from the reactor thread itself, which posts it on the
 * lifeline as it dies (an uncaught error, `process.exit`); a thread stopped
 * by V8 (out of memory) runs no code and sends none. The calling thread
 * starts both threads at once: a supervisor that was the reactor thread's
 * parent would have to start first, and a thread start-up is the largest
 * part of a cold start. It imports nothing but `node:worker_threads`.
 */
import { type MessagePort, workerData } from "node:worker_threads"
import * as Protocol from "./protocol.ts"

interface SupervisorData {
  readonly buffer: SharedArrayBuffer
  readonly control: MessagePort
  readonly lifeline: MessagePort
  /** Whether the reactor thread runs under `resourceLimits`: out of memory ends it without a word. */
  readonly limited: boolean
}

const data = workerData as SupervisorData
const state = new Int32Array(data.buffer)

/** The first thing said wins: an uncaught error is followed by its exit code. */
let lastWord: Protocol.LastWord | undefined
data.lifeline.on("message", (word: Protocol.LastWord) => {
  lastWord ??= word
})

const reasonOf = (word: Protocol.LastWord | undefined, limited: boolean): string => {
  if (word === undefined) {
    return "it ended without a word" +
      (limited ? ", most likely out of memory (it runs under connect's resourceLimits)" : " (terminated?)")
  }
  if (word.type === "uncaught") return `uncaught ${word.name}: ${word.message}`
  return `exit code ${word.code}${word.code === 1 ? "" : " (process.exit in the reactor thread?)"}`
}

data.lifeline.on("close", () => {
  const status = Atomics.load(state, Protocol.STATE)
  if (status !== Protocol.Stopped && status !== Protocol.StartFailed) {
    const info: Protocol.DiedInfo = { type: "died", reason: reasonOf(lastWord, data.limited) }
    data.control.postMessage(info)
    Protocol.setState(state, Protocol.Dead)
  }
  data.control.close()
})

data.control.unref()
