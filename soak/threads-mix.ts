/**
 * The mix of calls of the thread soak, for any blocking client (reactor
 * thread or MainThreadBridge): successes, failures, timeouts and cancels, as
 * blocking calls and as handles kept in flight. Each input `n` dictates its
 * outcome; a call that finds the reactor stopped may end with ReactorStopped
 * instead, which the caller judges.
 */
import { Cancelled, ReactorStopped, TimeoutError } from "@crochet/core"
import type { BlockingClient } from "@crochet/platform-node"
import { Expected, type operations } from "./threads-operations.ts"

export type Client = BlockingClient.Client<typeof operations>
export type Outcome = "success" | "failure" | "timeout" | "cancelled" | "stopped" | "other"

/** What the call for `n` must end with. */
export const expectedOf = (n: number): Outcome => {
  switch (n % 10) {
    case 5:
    case 6:
    case 9:
      return "failure"
    case 7:
      return n % 100 === 7 ? "timeout" : "success"
    case 8:
      return "cancelled"
    default:
      return "success"
  }
}

export const outcomeOf = (error: unknown, n: number): Outcome =>
  error instanceof Expected
    ? error.n === n ? "failure" : "other"
    : error instanceof TimeoutError
    ? "timeout"
    : error instanceof Cancelled
    ? "cancelled"
    : error instanceof ReactorStopped
    ? "stopped"
    : "other"

const settle = (n: number, f: () => unknown): Outcome => {
  try {
    return f() === n ? "success" : "other"
  } catch (error) {
    return outcomeOf(error, n)
  }
}

/** A handle in flight, and the input that dictates its outcome. */
export interface InFlight {
  readonly n: number
  readonly handle: BlockingClient.ThreadResult<number, unknown>
}

/** A handle's outcome; waiting twice and polling must agree (a handle settles once). */
export const settleHandle = ({ handle, n }: InFlight): Outcome => {
  const first = settle(n, () => handle.wait({ timeout: "30 seconds" }))
  const again = settle(n, () => handle.wait({ timeout: "30 seconds" }))
  const exit = handle.poll()
  const polled = exit === undefined ? "running" : exit._tag === "Success" ? "success" : "not success"
  if (first !== again) return "other"
  if ((first === "success") !== (polled === "success") || polled === "running") return "other"
  return first
}

/**
 * Makes the call for `n`. Blocking calls return their outcome; inputs 4 and
 * 9 start a handle and push it on `window` (settled later, by the caller).
 */
export const perform = (client: Client, n: number, window: Array<InFlight>): Outcome | undefined => {
  switch (n % 10) {
    case 3:
      return settle(n, () => client.call.okAsync(n))
    case 4:
    case 9:
      try {
        window.push({ n, handle: n % 10 === 4 ? client.start.okAsync(n) : client.start.fail(n) as never })
        return undefined
      } catch (error) {
        return outcomeOf(error, n)
      }
    case 5:
    case 6:
      return settle(n, () => client.call.fail(n))
    case 7:
      return n % 100 === 7
        ? settle(n, () => client.with({ timeout: "1 millis" }).hang())
        : settle(n, () => client.call.ok(n))
    case 8:
      return settle(n, () => {
        const handle = client.start.hang()
        handle.cancel()
        return handle.wait({ timeout: "30 seconds" })
      })
    default:
      return settle(n, () => client.call.ok(n))
  }
}
