/**
 * The supervisor thread: watches a reactor thread for the deaths that run no
 * code of its own (V8 stopping it for lack of memory); a reactor thread that
 * ends unasked otherwise says so itself (`reactorWorker.ts`). A caller blocked
 * in `Atomics.wait` cannot see a Worker's `exit` event (its event loop is
 * parked), so this small thread with an idle event loop holds one end of a
 * "lifeline" channel whose other end lives in the reactor thread. A thread's
 * ports close when it ends, however it ends: when the lifeline closes while
 * the reactor thread was meant to run, the supervisor marks the shared state
 * `Dead` and wakes every blocked caller.
 *
 * It is not the reactor thread's parent (a parent would have to start first,
 * and a thread start-up is the largest part of a cold start), and it starts
 * once the reactor thread is ready (with it under `resourceLimits`), so that
 * the two start-ups do not compete for the cores; a lifeline that closed
 * before it started closes for it then.
 * It imports nothing but `node:worker_threads`.
 */
import { type MessagePort, workerData } from "node:worker_threads"
import * as Protocol from "./protocol.ts"

interface SupervisorData {
  readonly buffer: SharedArrayBuffer
  readonly control: MessagePort
  readonly lifeline: MessagePort
  /** Whether the reactor thread runs under `resourceLimits`, where running out of memory is the likely silent death. */
  readonly limited: boolean
}

const data = workerData as SupervisorData
const state = new Int32Array(data.buffer)

data.lifeline.on("close", () => {
  const status = Atomics.load(state, Protocol.STATE)
  if (status === Protocol.Starting || status === Protocol.Ready) {
    const info: Protocol.DiedInfo = {
      type: "died",
      reason: "it ended without running any code of its own: " +
        (data.limited
          ? "most likely out of memory (it runs under connect's resourceLimits), or worker.terminate()"
          : "worker.terminate(), or out of memory"),
      error: undefined
    }
    data.control.postMessage(info)
    Protocol.setState(state, Protocol.Dead)
  }
  data.control.close()
})
// Started and referenced (a port with no message listener is neither), the lifeline keeps this thread alive until it closes.
data.lifeline.start()
data.lifeline.ref()
data.control.unref()
