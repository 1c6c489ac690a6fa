/**
 * The supervisor thread: starts the reactor thread and watches it. A caller
 * blocked in `Atomics.wait` cannot see a Worker's `exit` event (its event loop
 * is parked), and a dying thread (uncaught error, `process.exit`, out of
 * memory) may run no code of its own; its parent thread always sees it. So
 * the parent is this small thread with an idle event loop: when the reactor
 * thread dies it records why, marks the shared state `Dead` and wakes every
 * blocked caller. It imports nothing but `node:worker_threads`.
 */
import { type MessagePort, Worker, workerData } from "node:worker_threads"
import * as Protocol from "./protocol.ts"

interface SupervisorData {
  readonly buffer: SharedArrayBuffer
  readonly control: MessagePort
  readonly reactor: Record<string, unknown> & { readonly port: MessagePort }
  readonly resourceLimits: Record<string, number> | undefined
}

const data = workerData as SupervisorData
const state = new Int32Array(data.buffer)

const died = (reason: string) => {
  const info: Protocol.DiedInfo = { type: "died", reason }
  data.control.postMessage(info)
  Protocol.setState(state, Protocol.Dead)
  data.control.close()
}

let reactor: Worker | undefined
try {
  reactor = new Worker(Protocol.entryModule("./reactorWorker", import.meta.url), {
    workerData: data.reactor,
    transferList: [data.reactor.port],
    ...(data.resourceLimits !== undefined ? { resourceLimits: data.resourceLimits } : {})
  })
} catch (error) {
  died(`the reactor thread could not be created: ${(error as Error)?.message ?? error}`)
}

let failure: unknown
reactor?.on("error", (error) => {
  failure = error
})
reactor?.on("exit", (code) => {
  const status = Atomics.load(state, Protocol.STATE)
  if (status === Protocol.Stopped || status === Protocol.StartFailed) {
    data.control.close()
    return
  }
  const error = failure as { readonly code?: string; readonly name?: string; readonly message?: string } | undefined
  died(
    error !== undefined
      ? `${error.code === "ERR_WORKER_OUT_OF_MEMORY" ? "out of memory: " : "uncaught "}` +
        `${error.name ?? "Error"}: ${error.message ?? String(error)}`
      : `exit code ${code}${code === 1 ? "" : " (process.exit in the reactor thread?)"}`
  )
})

data.control.unref()
