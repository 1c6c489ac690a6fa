/**
 * A worker thread of examples/from-effect-app.ts: plain synchronous code that
 * runs jobs in the main thread's reactor through a MainThreadBridge. Each
 * call blocks this thread (not the main one) until the answer; when the main
 * reactor shuts down, a call still blocked is released with ReactorStopped.
 *
 * Messages in: `{ endpoint }` once (its port transferred), then
 * `{ id, name, millis }` jobs. Messages out: `{ id, ok, value | error, stopped }`.
 */
import { ReactorStopped } from "@crochet/core"
import { type BlockingClient, MainThreadBridge } from "@crochet/platform-node"
import { parentPort } from "node:worker_threads"
import type { operations } from "./from-effect-app.ts"

export type ToWorker =
  | { readonly endpoint: MainThreadBridge.Endpoint<typeof operations> }
  | { readonly id: number; readonly name: string; readonly millis: number }

export type FromWorker =
  | { readonly id: number; readonly ok: true; readonly value: string }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly stopped: boolean }

let main: BlockingClient.Client<typeof operations> | undefined

parentPort!.on("message", (message: ToWorker) => {
  if ("endpoint" in message) {
    main = MainThreadBridge.connect(message.endpoint, { timeout: "1 minute" })
    return
  }
  let reply: FromWorker
  try {
    const value = main!.call.runJob(message.name, message.millis) // blocks this worker
    reply = { id: message.id, ok: true, value }
  } catch (error) {
    const { message: text, name } = error as Error
    reply = { id: message.id, ok: false, error: `${name}: ${text}`, stopped: error instanceof ReactorStopped }
  }
  parentPort!.postMessage(reply)
})
