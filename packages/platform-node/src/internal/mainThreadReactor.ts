/**
 * The main thread's reactor as a worker's client sees it: reached through an
 * endpoint (`bridge.endpoint()`), gone for good once the bridge is closed.
 */
import { ReactorStopped } from "@crochet/core/Errors"
import type { Endpoint } from "../MainThreadBridge.ts"
import { checkNotReactorThread, Link, type RemoteReactor } from "./client.ts"
import * as Protocol from "./protocol.ts"
import * as Released from "./released.ts"

export class MainThreadReactor implements RemoteReactor {
  readonly label = "main thread's reactor"
  private readonly link: Link
  private closed = false

  constructor(endpoint: Endpoint<any>) {
    this.link = new Link(new Int32Array(endpoint.buffer), endpoint.port, undefined)
    this.link.info = { type: "ready", operations: endpoint.operations, timeouts: endpoint.timeouts }
    endpoint.port.unref()
  }

  acquire(_deadline?: number): Link {
    if (!this.closed && this.link.status === Protocol.Ready) return this.link
    throw this.goneError()
  }

  checkThread(): void {
    checkNotReactorThread()
  }

  /** A failed call may have been a release at shutdown: the main thread waits for this worker's handling. */
  afterFailure(): void {
    Released.acknowledgeLater(this.link.state)
  }

  goneError(_link?: Link, operation?: string): Error {
    this.afterFailure()
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
    this.link.port.close()
  }
}
