/**
 * The handle of a call started with `client.start.op(...)`: `wait()` blocks
 * for its reply, `poll()` and `cancel()` never block. It reads its reply from
 * the endpoint the call was sent on, even after that thread died or was
 * replaced.
 */
import type * as Cause from "effect/Cause"
import type * as Exit from "effect/Exit"
import type { CallOptions, ThreadResult } from "../BlockingClient.ts"
import { failure, released, waitTimedOut } from "./callerError.ts"
import type { ClientSettings, RemoteReactor } from "./client.ts"
import * as Lazy from "./effectModules.ts"
import { type Endpoint, Gone, TimedOut } from "./endpoint.ts"
import { optionsTimeout } from "./options.ts"
import * as Protocol from "./protocol.ts"

/** How a started call ended: its value, or the error waits throw (with its Cause, unless the server went away). */
type Settled =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: Error; readonly cause: Cause.Cause<unknown> | undefined }

/** A handle dropped without being read: its reply, if it ever comes, is not kept. */
const abandoned = new FinalizationRegistry<{ readonly endpoint: Endpoint; readonly id: number }>(({ endpoint, id }) =>
  endpoint.forget(id)
)

/** Sends the call and returns its handle. */
export const startCall = (
  remote: RemoteReactor,
  settings: ClientSettings,
  endpoint: Endpoint,
  name: string,
  args: ReadonlyArray<unknown>,
  trace: Protocol.WireTrace | undefined
): ThreadResult<unknown, unknown> => {
  const id = endpoint.send(name, args, undefined, trace)
  remote.watch()
  const result = new ThreadResultImpl(remote, settings, endpoint, id, name)
  abandoned.register(result, { endpoint, id })
  return result
}

class ThreadResultImpl implements ThreadResult<unknown, unknown> {
  private readonly remote: RemoteReactor
  private readonly settings: ClientSettings
  private readonly endpoint: Endpoint
  private readonly id: number
  private readonly name: string
  private settled: Settled | undefined
  /** Made by the first `poll()` that finds the call settled: `wait()` needs no Exit (nor `effect/Exit`). */
  private exit: Exit.Exit<unknown, unknown> | undefined

  constructor(remote: RemoteReactor, settings: ClientSettings, endpoint: Endpoint, id: number, name: string) {
    this.remote = remote
    this.settings = settings
    this.endpoint = endpoint
    this.id = id
    this.name = name
  }

  wait(options?: CallOptions): unknown {
    this.remote.checkThread()
    const timeout = optionsTimeout(options, `${this.name}(): wait()`)
    if (this.settled === undefined) {
      const deadline = timeout === undefined ? undefined : performance.now() + timeout
      const reply = this.endpoint.await(this.id, deadline, this.settings.spinMillis)
      if (reply === TimedOut) throw waitTimedOut(this.name, timeout!, this.wait)
      this.settle(reply, this.wait)
    }
    const settled = this.settled!
    if (settled._tag === "Success") return settled.value
    throw settled.error
  }

  poll(): Exit.Exit<unknown, unknown> | undefined {
    const settled = this.check(this.poll)
    if (settled === undefined || this.exit !== undefined) return this.exit
    const Exit = Lazy.Exit()
    return this.exit = settled._tag === "Success"
      ? Exit.succeed(settled.value)
      : settled.cause === undefined
      ? Exit.fail(settled.error)
      : Exit.failCause(settled.cause)
  }

  cancel(): void {
    if (this.check(this.cancel) === undefined) this.endpoint.cancel(this.id)
  }

  originalFailure(): any {
    const exit = this.poll()
    return exit?._tag === "Failure" ? exit.cause : undefined
  }

  /** How the call ended if it has (reading what arrived), without blocking. */
  private check(below: Function): Settled | undefined {
    if (this.settled === undefined) {
      const reply = this.endpoint.take(this.id)
      if (reply !== undefined) this.settle(reply, below)
      else if (!this.endpoint.serving) {
        // A reply sent just before the end still counts.
        this.settle(this.endpoint.take(this.id) ?? Gone, below)
      }
    }
    return this.settled
  }

  private settle(reply: Protocol.Reply | typeof Gone, below: Function): void {
    if (reply === Gone) {
      this.endpoint.forget(this.id)
      this.settled = {
        _tag: "Failure",
        error: released(this.remote.goneError(this.endpoint, this.name), this.endpoint, this.settings.errors, below),
        cause: undefined
      }
    } else if (reply[1] === Protocol.Success) {
      this.settled = { _tag: "Success", value: reply[2] }
    } else {
      this.settled = {
        _tag: "Failure",
        ...failure(reply[2], this.settings.errors, this.remote.label, this.name, undefined, below)
      }
    }
  }
}
