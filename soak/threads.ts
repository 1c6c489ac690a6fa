/**
 * `npm run soak` (threads part): load on the blocking thread bridges with a
 * mix of successes, failures, timeouts and cancels (blocking calls, and
 * handles kept in flight), with the reactor killed once mid-run.
 *   1. ReactorThread: 100,000 calls from this thread; at call 50,000 the
 *      reactor thread exits (process.exit inside it) while a blocking call and
 *      ~1,000 handles wait on it. Every one must be released with
 *      ReactorStopped; the next call starts a new thread; the run goes on.
 *   2. MainThreadBridge: 4 worker threads make 100,000 blocking calls into this
 *      thread's reactor; at 50,000 the reactor shuts down. Every blocked
 *      worker must be released with ReactorStopped, and later calls fail fast.
 * Every call must settle once with the outcome its input dictates.
 * Run with `npx node --expose-gc soak/threads.ts`; exits non-zero when a check fails.
 */
import { Reactor, ReactorStopped } from "@crochet/core"
import { MainThreadBridge, ReactorThread } from "@crochet/platform-node"
import * as Layer from "effect/Layer"
import { once } from "node:events"
import { Worker } from "node:worker_threads"
import { check, figure, finish, heapAfterGc } from "./report.ts"
import { type Client, expectedOf, type InFlight, type Outcome, perform, settleHandle } from "./threads-mix.ts"
import { Expected, operations } from "./threads-operations.ts"

// This thread blocks in Atomics.wait, where no timer of its own can fire: the
// watchdog is another thread, which kills the process if the soak ever hangs.
const watchdog = new Worker(
  `setTimeout(() => { console.error("soak/threads: watchdog: still running after 200 s, killed"); process.kill(process.pid, "SIGKILL") }, 200_000)`,
  { eval: true }
)
watchdog.unref()

const ms = (millis: number) => `${millis.toFixed(millis < 10 ? 1 : 0)} ms`
const perSecond = (calls: number, millis: number) => `${Math.round(calls / (millis / 1000)).toLocaleString("en")}/s`

const calls = 100_000
const killAt = 50_000
const start = performance.now()

/** 1. ReactorThread, killed once mid-run. */
const reactorThread = async () => {
  const client = ReactorThread.connect<typeof import("./threads.reactor.ts")>(
    new URL("./threads.reactor.ts", import.meta.url),
    {
      timeout: "30 seconds",
      errors: [Expected]
    }
  )
  const started = performance.now()
  client.ready()
  figure("reactor thread: first start (load effect, build the layer)", ms(performance.now() - started))
  const mix = client as unknown as Client
  const heapBefore = await heapAfterGc()

  let wrong = 0
  let outcomes = 0
  const examples: Array<string> = []
  const judge = (n: number, outcome: Outcome, allowed: ReadonlyArray<Outcome> = [expectedOf(n)]) => {
    outcomes++
    if (allowed.includes(outcome)) return
    wrong++
    if (examples.length < 5) examples.push(`n=${n}: ${outcome}, expected ${allowed.join(" or ")}`)
  }
  const window: Array<InFlight> = []
  let killMillis = 0
  const began = performance.now()
  for (let n = 0; n < calls; n++) {
    if (n === killAt) {
      const killStarted = performance.now()
      // In flight when the thread dies: the window's handles, 1,000 handles that never end, and a blocking call.
      const hanging = Array.from({ length: 1_000 }, () => client.start.hang())
      const inWindow = window.splice(0)
      const blocked = performance.now()
      let death: unknown
      try {
        client.call.exit(7)
      } catch (error) {
        death = error
      }
      const releaseMillis = performance.now() - blocked
      check(
        death instanceof ReactorStopped && death.message.includes("exit code 7"),
        `reactor thread exit: the blocked caller was released with ReactorStopped naming the exit code (${
          (death as Error)?.message?.slice(0, 60)
        }...)`
      )
      figure("reactor thread exits: blocked caller released after", ms(releaseMillis))
      const pollStarted = performance.now()
      const unreleased = hanging.filter((handle) => handle.poll() === undefined).length
      const pollMillis = performance.now() - pollStarted
      check(
        unreleased === 0,
        `reactor thread exit: all 1,000 pending handles released at once (${unreleased} still pending)`
      )
      figure("reactor thread exits: 1,000 pending handles all settled (poll each)", ms(pollMillis))
      let wrongHanging = 0
      for (const handle of hanging) if (settleHandle({ handle: handle as never, n: -1 }) !== "stopped") wrongHanging++
      check(
        wrongHanging === 0,
        `reactor thread exit: every pending handle settled once with ReactorStopped (${wrongHanging} wrong)`
      )
      // Handles whose reply came before the end keep it; the others were released.
      for (const inFlight of inWindow) judge(inFlight.n, settleHandle(inFlight), [expectedOf(inFlight.n), "stopped"])
      const restarted = performance.now()
      const first = mix.call.ok(-1)
      figure("reactor thread exits: next call starts a new thread and answers after", ms(performance.now() - restarted))
      check(first === -1, "reactor thread exit: the next call started a new thread and was answered")
      killMillis = performance.now() - killStarted
    }
    const outcome = perform(mix, n, window)
    if (outcome !== undefined) judge(n, outcome)
    if (window.length >= 256) {
      for (const inFlight of window.splice(0, 128)) judge(inFlight.n, settleHandle(inFlight))
    }
  }
  for (const inFlight of window.splice(0)) judge(inFlight.n, settleHandle(inFlight))
  const millis = performance.now() - began - killMillis
  figure(
    "reactor thread: 100,000 mixed calls (excluding the kill and restart)",
    `${(millis / 1000).toFixed(1)} s (${perSecond(calls, millis)})`
  )
  check(
    outcomes === calls,
    `reactor thread: every call settled (${outcomes.toLocaleString("en")} of ${calls.toLocaleString("en")})`
  )
  check(
    wrong === 0,
    `reactor thread: every call settled once with its outcome (${wrong} wrong)${
      examples.length ? `: ${examples.join("; ")}` : ""
    }`
  )

  const heapGrowth = (await heapAfterGc()) - heapBefore
  figure(
    "reactor thread: heap growth of this thread after the run (after GC)",
    `${(heapGrowth / 1024 / 1024).toFixed(2)} MB`
  )
  check(
    heapGrowth <= 5 * 1024 * 1024,
    `reactor thread: heap growth ≤ 5 MB (${(heapGrowth / 1024 / 1024).toFixed(2)} MB)`
  )

  const shutdownStarted = performance.now()
  client.shutdown()
  figure("reactor thread: client.shutdown()", ms(performance.now() - shutdownStarted))
  let after: unknown
  try {
    mix.call.ok(1)
  } catch (error) {
    after = error
  }
  check(after instanceof ReactorStopped, "reactor thread: a call after shutdown is refused with ReactorStopped")
}

/** 2. MainThreadBridge: worker threads blocked on this thread's reactor, which shuts down mid-run. */
const mainThreadBridge = async () => {
  const workers = 4
  const reactor = Reactor.setup(Layer.empty)
  const bridge = MainThreadBridge.serve(reactor, operations)
  const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)
  const counters = new Int32Array(shared)
  const threads = Array.from({ length: workers }, (_, index) => {
    const endpoint = bridge.endpoint()
    const worker = new Worker(new URL("./threads-worker.ts", import.meta.url), {
      workerData: { endpoint, index, workers, calls, shared },
      transferList: [endpoint.port]
    })
    return { worker, ready: once(worker, "message"), exited: once(worker, "exit") }
  })
  await Promise.all(threads.map((thread) => thread.ready))
  const reported = threads.map((thread) => once(thread.worker, "message"))
  const began = performance.now()
  Atomics.store(counters, 2, 1)
  Atomics.notify(counters, 2)
  // The workers count their calls; shut the reactor down once half of them are made.
  while (Atomics.load(counters, 0) < killAt) await new Promise((resolve) => setTimeout(resolve, 1))
  const madeBeforeStop = Atomics.load(counters, 0)
  Atomics.store(counters, 1, 1)
  const stopAt = performance.timeOrigin + performance.now()
  const shutdownStarted = performance.now()
  const stopMillis = shutdownStarted - began
  await reactor.shutdown()
  const shutdownMillis = performance.now() - shutdownStarted
  const reports = (await Promise.all(reported)).map(([report]) =>
    report as {
      readonly settled: number
      readonly wrong: number
      readonly stopped: number
      readonly firstStoppedAt: number | undefined
      readonly examples: Array<string>
    }
  )
  await Promise.all(threads.map((thread) => thread.exited))
  const millis = performance.now() - began
  const settled = reports.reduce((sum, report) => sum + report.settled, 0)
  const wrong = reports.reduce((sum, report) => sum + report.wrong, 0)
  const release = Math.max(...reports.map((report) => (report.firstStoppedAt ?? Infinity) - stopAt))
  figure(
    `main-thread bridge: 100,000 mixed calls from ${workers} worker threads (reactor shut down at ${
      madeBeforeStop.toLocaleString("en")
    })`,
    `${(millis / 1000).toFixed(1)} s`
  )
  figure(
    `main-thread bridge: the first ${madeBeforeStop.toLocaleString("en")} calls`,
    perSecond(madeBeforeStop, stopMillis)
  )
  figure("main-thread bridge: reactor.shutdown() with the workers calling", ms(shutdownMillis))
  figure("main-thread bridge: the last worker saw ReactorStopped after", ms(release))
  check(
    settled === calls,
    `main-thread bridge: every call settled (${settled.toLocaleString("en")} of ${calls.toLocaleString("en")})`
  )
  check(
    wrong === 0,
    `main-thread bridge: every call settled once with its outcome, ReactorStopped only after the shutdown began (${wrong} wrong)` +
      `${
        reports.some((report) => report.examples.length)
          ? `: ${reports.flatMap((report) => report.examples).join("; ")}`
          : ""
      }`
  )
  check(
    reports.every((report) => report.stopped > 0),
    "main-thread bridge: every worker was released with ReactorStopped"
  )
  check(Number.isFinite(release), `main-thread bridge: released within ${ms(release)} of the shutdown`)
  bridge.close()
}

await reactorThread()
await mainThreadBridge()
finish("threads soak", start)
