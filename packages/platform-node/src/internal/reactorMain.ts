/**
 * The reactor thread's work, loaded by its entry module `reactorWorker.ts`:
 * loads the reactor module, sets up its reactor (core's `Reactor.setup`),
 * builds the layer at once so that startup errors reach the first caller,
 * then serves calls until shut down.
 */
import * as Reactor from "@crochet/core/Reactor"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { BroadcastChannel, type MessagePort, workerData } from "node:worker_threads"
import type { Definition } from "../ReactorThread.ts"
import { encodeThrown } from "./codec.ts"
import { isDefinition } from "./definition.ts"
import * as Protocol from "./protocol.ts"
import { Server } from "./server.ts"

interface ReactorData {
  readonly module: string
  readonly exportName: string
  readonly port: MessagePort
  readonly buffer: SharedArrayBuffer
  readonly spinMillis: number
  readonly busyMillis: number
  /** Connected from a worker thread: the main thread asks it to stop when the process ends. */
  readonly stopsAtMainExit: boolean
}

const data = workerData as ReactorData
const state = new Int32Array(data.buffer)
const port = data.port

const startFailed = (message: string, error: unknown): void => {
  const info: Protocol.StartFailedInfo = {
    type: "startFailed",
    message,
    error: error === undefined ? undefined : encodeThrown(error)
  }
  port.postMessage(info)
  Protocol.setState(state, Protocol.StartFailed)
  port.close()
}

const main = async (): Promise<void> => {
  let module: Record<string, unknown>
  try {
    module = await import(data.module)
  } catch (error) {
    return startFailed(`could not import ${data.module}: ${(error as Error)?.message ?? error}`, error)
  }
  const definition = module[data.exportName] as Definition<any>
  if (!isDefinition(definition)) {
    return startFailed(
      `${data.module} has no ${data.exportName === "default" ? "default export" : `export named ${data.exportName}`} ` +
        "made with ReactorThread.define({ layer, operations }).",
      undefined
    )
  }
  // No layer: no services.
  const layer = definition.layer ?? (Layer.empty as Layer.Layer<any>)
  // connect's shutdownTimeout bounds the thread's shutdown, and reports an overrun in the calling
  // thread; a deadline of the reactor's own here would give up first and log where nobody sees it at exit.
  const reactor = Reactor.setup(layer, { shutdownTimeout: Infinity, ...definition.reactorOptions })
  try {
    // Named, since a reactor with a tracer records this first call too.
    await reactor.waitFor(Effect.void, { spanName: "ReactorThread.start" })
  } catch (error) {
    await reactor.shutdown()
    return startFailed(`its layer failed to build: ${(error as Error)?.message ?? error}`, error)
  }
  const ready: Protocol.ReadyInfo = {
    type: "ready",
    operations: Object.keys(definition.operations),
    timeouts: definition.timeouts
  }
  port.postMessage(ready)
  server = new Server(reactor, definition.operations, port, state, {
    spinMillis: data.spinMillis,
    watchRequests: true,
    busyMillis: data.busyMillis,
    onShutdown: () => reactor.shutdown(),
    countReleases: false
  })
  Protocol.setState(state, Protocol.Ready)
  if (exiting) server.shutdown()
}

let server: Server | undefined
let exiting = false

// Connected from a worker thread: when the process ends, the main thread asks such reactor threads
// to stop (see `liveThreads.ts`); the main thread's own get a Shutdown request on their port instead.
// Mark it in the shared state first: the connecting worker then starts no new one.
if (data.stopsAtMainExit) {
  const processEnd = new BroadcastChannel(Protocol.channels.exit)
  processEnd.unref()
  processEnd.onmessage = () => {
    if (exiting) return
    exiting = true
    Atomics.store(state, Protocol.EXITING, 1)
    Protocol.wake(state)
    server?.shutdown()
  }
}

void main()
