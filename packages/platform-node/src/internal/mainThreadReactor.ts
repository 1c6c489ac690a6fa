/**
 * The main thread's reactor as a worker's client sees it: reached through an
 * endpoint (`bridge.endpoint()`), gone for good once the bridge is closed.
 */
import { ReactorStopped } from "@crochet/core/Errors"
import type * as MainThreadBridge from "../MainThreadBridge.ts"
import { checkNotReactorThread, type RemoteReactor } from "./client.ts"
import { Endpoint } from "./endpoint.ts"
import * as Protocol from "./protocol.ts"
import * as Released from "./released.ts"

export class MainThreadReactor implements RemoteReactor {
  readonly label = "main thread's reactor"
  private readonly endpoint: Endpoint
  private closed = false

  constructor(endpoint: MainThreadBridge.Endpoint<any>) {
    this.endpoint = new Endpoint(new Int32Array(endpoint.buffer), endpoint.port, undefined)
    this.endpoint.info = { type: "ready", operations: endpoint.operations, timeouts: endpoint.timeouts }
    endpoint.port.unref()
  }

  acquire(_deadline?: number): Endpoint {
    if (!this.closed && this.endpoint.status === Protocol.Ready) return this.endpoint
    throw this.goneError()
  }

  checkThread(): void {
    checkNotReactorThread()
  }

  watch(): void {
    // The main thread cannot die without this thread's process: nothing to watch.
  }

  goneError(_endpoint?: Endpoint, operation?: string): Error {
    // The bridge may have closed at shutdown, releasing this worker: the main thread waits for its handling.
    Released.acknowledgeLater(this.endpoint.state)
    return new ReactorStopped({
      message: this.closed
        ? "This client was shut down with client.shutdown()."
        : `The main thread's bridge was closed${operation ? ` while ${operation}() was waiting` : ""}; ` +
          "its work was interrupted. Ask the main thread for a new endpoint."
    })
  }

  shutdown(): void {
    if (this.closed) return
    this.closed = true
    this.endpoint.port.close()
  }
}
