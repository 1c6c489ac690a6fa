/**
 * The hand-written floor: no library. A request arrives on a MessagePort
 * (which wakes this thread's event loop); the answer goes back on the port and
 * is signalled through a SharedArrayBuffer (Atomics.notify).
 */
import { type MessagePort, workerData } from "node:worker_threads"

const { buffer, port } = workerData as { readonly buffer: SharedArrayBuffer; readonly port: MessagePort }
const state = new Int32Array(buffer)
port.on("message", (value: unknown) => {
  port.postMessage(value)
  Atomics.add(state, 0, 1)
  Atomics.notify(state, 0)
})
