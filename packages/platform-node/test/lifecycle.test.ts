import { Reactor, TimeoutError } from "@crochet/core"
import { NodeReactor } from "@crochet/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ChildProcess, fork } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { MessageChannel, Worker } from "node:worker_threads"
import { describe, expect, it } from "vitest"
import { runChild, within } from "./helpers.ts"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/lifecycle/${name}`, import.meta.url))
const run = (script: string, args: Array<string>, env: Record<string, string> = {}) =>
  runChild(fixture(script), args, env)

describe("NodeReactor: signals (in a child process)", () => {
  it("SIGTERM shuts the reactor down (callers released, finalizers run), then exits with 143", async () => {
    const app = run("app.ts", ["wait-for-signal"])
    expect(await app.line("ready")).toBe("ready 1")
    app.child.kill("SIGTERM")
    const exit = await within(app.exited, 15_000, "the shutdown")
    expect(exit.code).toBe(143)
    expect(app.lines).toContain("call released: ReactorStopped")
    expect(app.lines).toContain("layer finalized")
  })

  it("SIGINT exits with 130; a second signal exits at once even with a stuck finalizer", async () => {
    const app = run("app.ts", ["stuck-finalizer"])
    await app.line("ready")
    app.child.kill("SIGINT")
    await app.line("finalizing")
    const sent = performance.now()
    app.child.kill("SIGINT")
    const exit = await within(app.exited, 15_000, "the second signal")
    expect(exit.code).toBe(130)
    // the finalizer would have had 60 seconds
    expect(performance.now() - sent).toBeLessThan(15_000)
    expect(app.lines).not.toContain("layer finalized")
  })

  it("SIGTERM during a drain: the in-flight call completes, then the finalizers run and the process exits with 143", async () => {
    const app = run("drain-app.ts", ["drain"])
    await app.line("ready")
    app.child.kill("SIGTERM")
    const exit = await within(app.exited, 15_000, "the drain and shutdown")
    expect(exit.code, app.stderr()).toBe(143)
    // the work finished inside the drain window, before the layer's finalizers ran...
    expect(app.lines.filter((line) => line !== "call completed: done")).toEqual([
      "ready",
      "draining",
      "work done",
      "layer finalized"
    ])
    // ...and its caller got the value, not ReactorStopped
    expect(app.lines).toContain("call completed: done")
  })

  it("a second SIGTERM during a drain exits at once with 143, without waiting for the drain window", async () => {
    const app = run("drain-app.ts", ["drain-stuck"])
    await app.line("ready")
    app.child.kill("SIGTERM")
    await app.line("draining")
    const sent = performance.now()
    app.child.kill("SIGTERM")
    const exit = await within(app.exited, 15_000, "the second signal")
    expect(exit.code, app.stderr()).toBe(143)
    // the drain window was 60 seconds
    expect(performance.now() - sent).toBeLessThan(15_000)
    expect(app.lines).toEqual(["ready", "draining"])
  })

  it("with signals: false it installs no handlers (for NodeRuntime.runMain); the default signal behaviour stays", async () => {
    const app = run("app.ts", ["no-signals"])
    expect(await app.line("ready")).toBe("ready 0")
    app.child.kill("SIGTERM")
    const exit = await within(app.exited, 15_000, "the exit")
    expect(exit.signal).toBe("SIGTERM")
    expect(app.lines).not.toContain("layer finalized")
  })
})

describe("NodeReactor: normal completion (in a child process)", () => {
  it("a finished program with a repeating background fiber ends by itself, after the layer's finalizers; an awaiting caller kept it alive", async () => {
    const app = run("app.ts", ["finish"])
    const exit = await within(app.exited, 15_000, "the program's end")
    expect(exit.code).toBe(0)
    expect(app.lines).toEqual(["result 42", "ticks many", "layer finalized"])
  })

  it("a reactor thread does not keep a finished program alive, and is shut down (finalizers run) at exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crochet-"))
    const marker = join(dir, "marker.txt")
    try {
      const app = run("thread-app.ts", [], { CROCHET_TEST_MARKER: marker })
      const exit = await within(app.exited, 15_000, "the program's end")
      expect(exit.code, app.stderr()).toBe(0)
      expect(app.lines).toEqual(["result hello child"])
      expect(readFileSync(marker, "utf8")).toBe("thread layer finalized\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("ReactorThread at exit (in a child process)", () => {
  it("work still running in a reactor thread when the program ends is interrupted and its finalizers run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crochet-"))
    const marker = join(dir, "marker.txt")
    try {
      const app = run("thread-app.ts", ["pending"], { CROCHET_TEST_MARKER: marker })
      const exit = await within(app.exited, 15_000, "the program's end")
      expect(exit.code, app.stderr()).toBe(0)
      expect(app.lines).toEqual(["result hello child", "started"])
      expect(readFileSync(marker, "utf8")).toBe("hang finalized\nthread layer finalized\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("ReactorThread stuck at exit (in a child process)", () => {
  it("a thread whose finalizer never ends is terminated after shutdownTimeout, with a warning on stderr", async () => {
    const app = run("thread-app.ts", ["stuck"], {})
    const exit = await within(app.exited, 15_000, "the program's end")
    expect(exit.code, app.stderr()).toBe(0)
    expect(app.lines).toEqual(["result hello child", "started"])
    expect(app.stderr()).toMatch(
      /\(node:\d+\) ReactorThreadWarning: The reactor thread thread\.reactor\.ts did not shut down within 500ms .*never ends\./
    )
  })
})

describe("NodeReactor: processes and threads", () => {
  it("on SIGTERM, reactor threads are shut down too (their finalizers run)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crochet-"))
    const marker = join(dir, "marker.txt")
    try {
      const app = run("thread-app.ts", ["signal"], { CROCHET_TEST_MARKER: marker })
      await app.line("ready")
      app.child.kill("SIGTERM")
      const exit = await within(app.exited, 15_000, "the shutdown")
      expect(exit.code, app.stderr()).toBe(143)
      expect(readFileSync(marker, "utf8")).toBe("thread layer finalized\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a forked child sets up its own reactor", async () => {
    const child: ChildProcess = fork(fixture("forked.ts"), [], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const messages: Array<any> = []
    const next = () =>
      new Promise<any>((resolve) => {
        child.once("message", (message) => {
          messages.push(message)
          resolve(message)
        })
      })
    const ready = await within(next(), 15_000, "the child's start")
    expect(ready.ready).toBe(child.pid)
    child.send({ n: 7 })
    expect(await next()).toEqual({ square: 49, pid: child.pid })
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    const finalized = next()
    child.send({ bye: true })
    expect(await finalized).toEqual({ finalized: child.pid })
    expect(await within(exited, 15_000, "the child's exit")).toBe(0)
    // The parent's reactors are its own:
    const mine = NodeReactor.setup(Layer.empty, { signals: false })
    expect(await mine.waitFor(Effect.sync(() => process.pid))).toBe(process.pid)
    await mine.shutdown()
  })

  it("passing a reactor to another thread fails at once with an error pointing to MainThreadBridge", async () => {
    const reactor = NodeReactor.setup(Layer.empty, { signals: false })
    const { port1 } = new MessageChannel()
    expect(() => port1.postMessage({ reactor })).toThrow(/cannot be passed to another thread; use MainThreadBridge/)
    expect(() => new Worker("0", { eval: true, workerData: { reactor } })).toThrow(/docs\/threads\.md, section 2/)
    // ...while staying an ordinary object in its own thread
    expect({ ...reactor }.status).toBe("running")
    port1.close()
    await reactor.shutdown()
  })

  it("installs its signal handlers once, and removes them when every reactor has shut down", async () => {
    const before = process.listenerCount("SIGTERM")
    const a = NodeReactor.setup(Layer.effectDiscard(Effect.void))
    const b = NodeReactor.setup(Layer.effectDiscard(Effect.void))
    expect(process.listenerCount("SIGTERM")).toBe(before + 1)
    await a.shutdown()
    expect(process.listenerCount("SIGTERM")).toBe(before + 1)
    await b.shutdown()
    expect(process.listenerCount("SIGTERM")).toBe(before)
    const quiet = NodeReactor.setup(Layer.effectDiscard(Effect.void), { signals: false })
    expect(process.listenerCount("SIGTERM")).toBe(before)
    await quiet.shutdown()
  })

  it("is core's Reactor.setup underneath: same layer, same running reactor; works again after shutdown", async () => {
    const layer = Layer.effectDiscard(Effect.void)
    const first = NodeReactor.setup(layer, { signals: false })
    expect(NodeReactor.setup(layer, { signals: false })).toBe(first)
    expect(await first.waitFor(Effect.succeed(1))).toBe(1)
    await first.shutdown()
    const second = NodeReactor.setup(layer, { signals: false })
    expect(second).not.toBe(first)
    expect(await second.runInReactor(Effect.succeed(2)).wait()).toBe(2)
    await Reactor.shutdownAll()
    expect(second.status).toBe("stopped")
  })

  it("passes runInReactor's options on (a timeout interrupts the work)", async () => {
    const reactor = NodeReactor.setup(Layer.effectDiscard(Effect.void), { signals: false })
    const result = reactor.runInReactor(Effect.never, { timeout: "10 millis", spanName: "never" })
    expect(await result.wait().catch((error) => error)).toBeInstanceOf(TimeoutError)
    await reactor.shutdown()
  })
})
