/**
 * A caller thread of the MainThreadBridge part of `soak/threads.ts`: makes its
 * share of the calls (n = index, index + workers, ...), counts each call in
 * the shared progress counter, and reports what it saw. A ReactorStopped is
 * right only once the main thread has begun its shutdown (the shared `stopping`
 * flag), and from then on every later call must end with it or its own outcome.
 */
import { MainThreadBridge } from "@crochet/platform-node"
import { parentPort, workerData } from "node:worker_threads"
import { type Client, expectedOf, type InFlight, type Outcome, perform, settleHandle } from "./threads-mix.ts"
import { Expected } from "./threads-operations.ts"

const { endpoint, index, workers, calls, shared } = workerData as {
  readonly endpoint: MainThreadBridge.Endpoint
  readonly index: number
  readonly workers: number
  readonly calls: number
  readonly shared: SharedArrayBuffer
}
const counters = new Int32Array(shared) // [0] calls made, [1] main is stopping (0/1), [2] go (0/1)
const client = MainThreadBridge.connect(endpoint, { timeout: "30 seconds", errors: [Expected] }) as unknown as Client

// Start together (not as each worker happens to finish loading), so that every worker is mid-run at the shutdown.
parentPort!.postMessage({ ready: true })
while (Atomics.load(counters, 2) === 0) Atomics.wait(counters, 2, 0, 30_000)

let settled = 0
let wrong = 0
let stopped = 0
let firstStoppedAt: number | undefined
const examples: Array<string> = []
const judge = (n: number, outcome: Outcome) => {
  settled++
  let ok = outcome === expectedOf(n)
  if (outcome === "stopped") {
    stopped++
    firstStoppedAt ??= performance.timeOrigin + performance.now()
    ok = Atomics.load(counters, 1) === 1
  }
  if (!ok) {
    wrong++
    if (examples.length < 5) examples.push(`n=${n}: ${outcome}, expected ${expectedOf(n)}`)
  }
}

const window: Array<InFlight> = []
for (let n = index; n < calls; n += workers) {
  const outcome = perform(client, n, window)
  if (outcome !== undefined) judge(n, outcome)
  if (window.length >= 64) { for (const inFlight of window.splice(0, 32)) judge(inFlight.n, settleHandle(inFlight)) }
  Atomics.add(counters, 0, 1)
}
for (const inFlight of window.splice(0)) judge(inFlight.n, settleHandle(inFlight))

parentPort!.postMessage({ settled, wrong, stopped, firstStoppedAt, examples })
