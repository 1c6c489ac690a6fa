/**
 * NodeReactor and signals, each case in child processes (test/fixtures/signals/app.ts).
 * Independent children run concurrently to keep the wall time down. Every case
 * asserts the exit code and what each finalizer printed, and the block cases
 * check from the child's own clock that the signal came while its main thread
 * was blocked.
 */
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { runChild, within } from "./helpers.ts"

const app = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runChild(fileURLToPath(new URL("./fixtures/signals/app.ts", import.meta.url)), args, env)

const signals = [["SIGTERM", 143], ["SIGINT", 130]] as const

/**
 * A guard against a child that never ends, not a measure: on a two-core machine shared with
 * other test runs, a child that takes 2 s alone has taken over 25 s.
 */
const hang = 60_000
const slow = { timeout: 90_000 }

/** The number after `prefix` in the child's line starting with it. */
const stamp = (lines: ReadonlyArray<string>, prefix: string): number => {
  const line = lines.find((l) => l.startsWith(prefix))
  if (line === undefined) throw new Error(`no line "${prefix}…" in: ${lines.join(" | ")}`)
  return Number(line.slice(prefix.length).split(" ")[0])
}

/** Sends `signal` `offset` ms after the child's block started (by the child's clock); returns when it was sent. */
const signalDuringBlock = async (
  child: ReturnType<typeof app>,
  signal: NodeJS.Signals,
  offset: number
): Promise<number> => {
  const started = stamp([await child.line("blocking ")], "blocking ")
  await sleep(Math.max(0, started + offset - Date.now()))
  const sentAt = Date.now()
  child.child.kill(signal)
  return sentAt
}

/** The lines after the child reported `prefix`. */
const linesAfter = (lines: ReadonlyArray<string>, prefix: string) =>
  lines.slice(lines.findIndex((l) => l.startsWith(prefix)) + 1)

describe.concurrent("a signal that reaches a main thread blocked in a reactor-thread call", slow, () => {
  for (const [signal, code] of signals) {
    for (const offset of [10, 100, 300, 1000]) {
      it(`${signal} ${offset} ms into a 1.5 s block is handled when the call returns: drain, the app's and the thread's finalizers, exit ${code}`, async () => {
        const child = app(["block", "1500"])
        const sentAt = await signalDuringBlock(child, signal, offset)
        const exit = await within(child.exited, hang, "the shutdown")
        expect(exit, child.stderr()).toEqual({ code, signal: null })
        // The signal came during the block (by the child's clock), and the call was answered.
        expect(sentAt).toBeLessThan(stamp(child.lines, "returned slept "))
        // Then, as if the signal had come now: the waiting caller released, the app's layer, the reactor thread.
        expect(linesAfter(child.lines, "returned slept ")).toEqual([
          "caller released: ReactorStopped",
          "app finalized",
          "thread finalized"
        ])
      })
    }

    it(`${signal} during a block with no end: the call fails with BlockedTooLong at blockingLimit (1 s), then the shutdown runs and the process exits ${code}`, async () => {
      const child = app(["block", "forever"], { CROCHET_TEST_BLOCKING_LIMIT: "1 second" })
      const sentAt = await signalDuringBlock(child, signal, 100)
      const exit = await within(child.exited, hang, "the shutdown")
      expect(exit, child.stderr()).toEqual({ code, signal: null })
      const started = stamp(child.lines, "blocking ")
      const failedAt = stamp(child.lines, "call failed: BlockedTooLong ")
      expect(sentAt).toBeLessThan(failedAt)
      expect(failedAt - started).toBeGreaterThanOrEqual(1000)
      expect(failedAt - started).toBeLessThan(1500)
      // The given-up call's work is cancelled at once (the reactor thread writes "hang finalized"
      // then, concurrently with the main thread's shutdown), the rest in the shutdown's order.
      const after = linesAfter(child.lines, "call failed: ")
      expect(after.filter((line) => line !== "hang finalized")).toEqual([
        "caller released: ReactorStopped",
        "app finalized",
        "thread finalized"
      ])
      expect(after.indexOf("hang finalized")).toBeGreaterThanOrEqual(0)
      expect(after.indexOf("hang finalized")).toBeLessThan(after.indexOf("thread finalized"))
    })
  }

  it("with the default blockingLimit (10 s) a SIGTERM during a block with no end is handled after 10 s", async () => {
    const child = app(["block", "forever"])
    await signalDuringBlock(child, "SIGTERM", 100)
    const exit = await within(child.exited, hang, "the shutdown")
    expect(exit, child.stderr()).toEqual({ code: 143, signal: null })
    const waited = stamp(child.lines, "call failed: BlockedTooLong ") - stamp(child.lines, "blocking ")
    expect(waited).toBeGreaterThanOrEqual(10_000)
    expect(waited).toBeLessThan(11_000)
    expect(child.lines).toContain("thread finalized")
  })

  it("a call given up at blockingLimit has its work cancelled, as on its timeout (nobody can read its answer)", async () => {
    const child = app(["given-up"])
    const exit = await within(child.exited, hang, "the program")
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null })
    // The cancel is sent as the call gives up: the thread's "hang finalized" may come before or after
    // the main thread's line; "hang ended" comes after both (the next call answered it).
    expect(child.lines.slice(0, 2).sort()).toEqual(["call failed: BlockedTooLong", "hang finalized"])
    expect(child.lines.slice(2)).toEqual(["hang ended", "thread finalized"])
  })

  it("blockingLimit bounds the blocked time between two turns of the event loop, not each call; a turn starts it again", async () => {
    const child = app(["budget"])
    const exit = await within(child.exited, hang, "the program")
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null })
    // Two 600 ms calls with no turn between them: the second fails when the 1 s is used up, before its own end.
    const [, first] = child.lines[0]!.match(/^call 1: returned after (\d+) ms$/) ?? []
    const [, second] = child.lines[1]!.match(/^call 2: BlockedTooLong after (\d+) ms$/) ?? []
    expect(Number(second)).toBeLessThan(600)
    expect(Number(first) + Number(second)).toBeGreaterThanOrEqual(990)
    expect(child.lines[2]).toMatch(/^call 3: returned after \d+ ms$/)
    expect(child.lines.slice(3)).toEqual(["thread finalized"])
  })
})

describe.concurrent("a second signal", slow, () => {
  for (const [signal, code] of signals) {
    it(`a second ${signal} exits at once while a reactor thread's finalizer takes a minute`, async () => {
      const child = app(["second"], { CROCHET_TEST_SLOW_FINALIZER: "1" })
      await child.line("ready")
      child.child.kill(signal)
      await child.line("thread finalizing")
      const sent = performance.now()
      child.child.kill(signal)
      const exit = await within(child.exited, hang, "the exit")
      const took = performance.now() - sent
      expect(exit, child.stderr()).toEqual({ code, signal: null })
      expect(took).toBeLessThan(1000)
      expect(child.lines).toEqual(["ready", "caller released: ReactorStopped", "app finalized", "thread finalizing"])
    })
  }
})

describe.concurrent("reactor threads connected from a worker thread", slow, () => {
  it("are shut down at process.exit in the main thread (their finalizers run)", async () => {
    const child = app(["worker-exit"])
    const exit = await within(child.exited, hang, "the exit")
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null })
    expect(child.lines).toEqual(["worker: hello worker", "thread finalized"])
  })

  it("are not waited for at process.exit once their worker was terminated (they ended with it)", async () => {
    const child = app(["worker-terminated"])
    const exit = await within(child.exited, hang, "the exit")
    const exitedAt = Date.now()
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null })
    // Its shutdownTimeout is 15 s: the exit did not wait for a thread that is gone.
    expect(exitedAt - stamp(child.lines, "worker terminated ")).toBeLessThan(5_000)
    expect(child.lines.map((line) => line.replace(/ \d+$/, ""))).toEqual(["worker: hello worker", "worker terminated"])
  })

  for (const [signal, code] of signals) {
    it(`are shut down on ${signal} under NodeReactor`, async () => {
      const child = app(["worker-signal"])
      await child.line("worker: hello worker")
      child.child.kill(signal)
      const exit = await within(child.exited, hang, "the shutdown")
      expect(exit, child.stderr()).toEqual({ code, signal: null })
      expect(linesAfter(child.lines, "worker: ")).toEqual([
        "caller released: ReactorStopped",
        "app finalized",
        "thread finalized"
      ])
    })
  }
})

describe("a MainThreadBridge worker released with ReactorStopped at shutdown", { timeout: 180_000 }, () => {
  it("runs its own handling (its catch, its clean-up after the call) before the process exits: 10 runs out of 10", async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, async (_, run) => {
      const [signal, code] = signals[run % 2]!
      const child = app(["bridge"])
      await child.line("ready")
      child.child.kill(signal)
      const exit = await within(child.exited, hang, "the shutdown")
      return { exit, expected: { code, signal: null }, lines: child.lines, stderr: child.stderr() }
    }))
    for (const { exit, expected, lines, stderr } of runs) {
      expect(exit, stderr).toEqual(expected)
      expect(lines).toContain("worker caught ReactorStopped")
      expect(lines).toContain("worker cleaned up")
      expect(lines).toContain("app finalized")
    }
  })
})

describe.concurrent("the app's own steps and listeners", slow, () => {
  for (const [signal, code] of signals) {
    it(`beforeShutdown runs first on ${signal} and is awaited (300 ms of async work, the reactor still serving), then the drain`, async () => {
      const child = app(["step"])
      await child.line("ready")
      child.child.kill(signal)
      const exit = await within(child.exited, hang, "the shutdown")
      expect(exit, child.stderr()).toEqual({ code, signal: null })
      expect(child.lines).toEqual([
        "ready",
        `step started by ${signal}`,
        "step served: yes",
        "step done",
        "caller released: ReactorStopped",
        "app finalized"
      ])
    })
  }

  it("a beforeShutdown step that never ends is cut at beforeShutdownTimeout, with a warning; the shutdown goes on", async () => {
    const child = app(["step-stuck"])
    await child.line("ready")
    const sent = performance.now()
    child.child.kill("SIGTERM")
    const exit = await within(child.exited, hang, "the shutdown")
    expect(exit, child.stderr()).toEqual({ code: 143, signal: null })
    expect(performance.now() - sent).toBeGreaterThanOrEqual(500)
    expect(child.lines).toEqual([
      "ready",
      "step started by SIGTERM",
      "caller released: ReactorStopped",
      "app finalized"
    ])
    expect(child.stderr()).toMatch(/NodeReactorWarning: beforeShutdown did not finish within 500ms/)
  })

  it("a beforeShutdown step that rejects is reported on stderr; the shutdown goes on", async () => {
    const child = app(["step-fails"])
    await child.line("ready")
    child.child.kill("SIGTERM")
    const exit = await within(child.exited, hang, "the shutdown")
    expect(exit, child.stderr()).toEqual({ code: 143, signal: null })
    expect(child.lines).toEqual([
      "ready",
      "step started by SIGTERM",
      "caller released: ReactorStopped",
      "app finalized"
    ])
    expect(child.stderr()).toMatch(/NodeReactorWarning: beforeShutdown failed: Error: the load balancer did not answer/)
  })

  it("a second signal during beforeShutdown exits at once", async () => {
    const child = app(["step-stuck"])
    await child.line("ready")
    child.child.kill("SIGTERM")
    await child.line("step started")
    child.child.kill("SIGTERM")
    const exit = await within(child.exited, hang, "the exit")
    expect(exit, child.stderr()).toEqual({ code: 143, signal: null })
    expect(child.lines).toEqual(["ready", "step started by SIGTERM"])
  })

  it("the app's listeners keep their order around NodeReactor's through a 300 ms block, and all run", async () => {
    const child = app(["order"])
    await child.line("after ")
    child.child.kill("SIGTERM")
    const exit = await within(child.exited, hang, "the shutdown")
    expect(exit, child.stderr()).toEqual({ code: 143, signal: null })
    const before = child.lines.find((line) => line.startsWith("before "))!.slice("before ".length)
    expect(before).toMatch(/^appFirst,\w+,appLast$/)
    expect(child.lines).toContain(`after ${before}`)
    expect(linesAfter(child.lines, "after ")).toEqual([
      "appFirst ran",
      "appLast ran",
      "caller released: ReactorStopped",
      "app finalized",
      "thread finalized"
    ])
  })
})
