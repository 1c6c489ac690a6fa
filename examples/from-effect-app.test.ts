import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const script = fileURLToPath(new URL("./from-effect-app.ts", import.meta.url))

/** Runs the example as a child process and lets the test wait for lines of its output. */
const start = () => {
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] })
  const lines: Array<string> = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line)
    for (const waiter of waiters) waiter()
  })
  let stderr = ""
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>
  /** The first line matching `pattern`, once printed (fails after 20 s, or if the process ends first). */
  const line = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.find((line) => pattern.test(line))
        if (found === undefined) return
        cleanup()
        resolve(found)
      }
      const timer = setTimeout(
        () => (cleanup(), reject(new Error(`no line matching ${pattern} in:\n${lines.join("\n")}\n${stderr}`))),
        20_000
      )
      const cleanup = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      void exited.then(() =>
        setImmediate(() => (cleanup(), reject(new Error(`exited without ${pattern}:\n${lines.join("\n")}\n${stderr}`))))
      )
      check()
    })
  return { child, exited, line, lines, stderr: () => stderr }
}

const get = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, body: await response.text() }
}

it(
  "SIGTERM: the reactor drains in-flight calls, then stops (503 ReactorStopped), then the service finalizer runs; exit 130",
  async () => {
    const app = start()
    try {
      const base = (await app.line(/^listening on http:\/\/127\.0\.0\.1:\d+$/)).slice("listening on ".length)

      // Quick calls, from the HTTP handler and from a worker thread.
      expect(await get(`${base}/job?name=quick&ms=0`)).toEqual({ status: 200, body: "job quick: done after 0 ms\n" })
      expect(await get(`${base}/worker-job?name=worker-quick&ms=0`)).toEqual({
        status: 200,
        body: "job worker-quick: done after 0 ms\n"
      })

      // Calls that end within the 5 s drain and calls that do not, from the handler and from the
      // two workers (each blocked on its own call).
      const drained = get(`${base}/job?name=drained&ms=2000`)
      const tooSlow = get(`${base}/job?name=too-slow&ms=60000`)
      const workerDrained = get(`${base}/worker-job?name=worker-drained&ms=2000`)
      const workerTooSlow = get(`${base}/worker-job?name=worker-too-slow&ms=60000`)
      // Only signal once all four are running in the reactor.
      for (const name of ["drained", "too-slow", "worker-drained", "worker-too-slow"]) {
        await app.line(new RegExp(`^job ${name}: started`))
      }
      app.child.kill("SIGTERM")

      expect(await drained).toEqual({ status: 200, body: "job drained: done after 2000 ms\n" })
      expect(await workerDrained).toEqual({ status: 200, body: "job worker-drained: done after 2000 ms\n" })
      const stopped = await tooSlow
      expect(stopped.status).toBe(503)
      expect(stopped.body).toMatch(/^ReactorStopped: /)
      const workerStopped = await workerTooSlow
      expect(workerStopped.status).toBe(503)
      expect(workerStopped.body).toMatch(/^ReactorStopped: /)

      // runMain exits with 130 for an interrupted program (Runtime.defaultTeardown), SIGTERM included.
      expect(await app.exited).toEqual([130, null])
      expect(app.stderr()).toBe("")

      // The worker's blocked call was released with ReactorStopped (reported by the worker itself).
      expect(app.lines).toContainEqual(expect.stringMatching(/^worker \d: ReactorStopped: /))
      // The shutdown order: drain, stop, then the service's finalizer. The drained job answers before
      // the stop (the two slow jobs keep the drain going for its full 5 s; the job needs 2 s at most).
      const at = (pattern: RegExp) => {
        const index = app.lines.findIndex((line) => pattern.test(line))
        expect(index, `a line matching ${pattern} in:\n${app.lines.join("\n")}`).toBeGreaterThanOrEqual(0)
        return index
      }
      expect(at(/^GET \/job\?name=drained&ms=2000 -> 200 /)).toBeLessThan(at(/^shutdown: reactor stopped/))
      expect(at(/^worker \d: job worker-drained: done/)).toBeLessThan(at(/^shutdown: reactor stopped/))
      const order = [
        at(/^shutdown: draining \d call\(s\) in flight, for up to 5 seconds$/),
        at(/^shutdown: reactor stopped; 2 call\(s\) still running were interrupted$/),
        at(/^shutdown: workers stopped$/),
        at(/^shutdown: http server closed$/),
        at(/^shutdown: service finalizer \(Jobs closed\)$/)
      ]
      expect(order).toEqual([...order].sort((a, b) => a - b))
    } finally {
      app.child.kill("SIGKILL")
    }
  },
  60_000
)
