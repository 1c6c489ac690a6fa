import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const script = fileURLToPath(new URL("./fastify-layer.ts", import.meta.url))

it("SIGTERM tears the layer graph down in reverse: server (draining the reactor), reactor, then Db", async () => {
  const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] })
  try {
    const lines: Array<string> = []
    const output = createInterface({ input: child.stdout })
    const listening = new Promise<string>((resolve) =>
      output.on("line", (line) => {
        lines.push(line)
        if (line.startsWith("listening on ")) resolve(line.slice("listening on ".length))
      })
    )
    const exited = once(child, "exit")
    const base = await listening
    const answer = (path: string) =>
      fetch(base + path).then(async (response) => ({ status: response.status, body: await response.json() as any }))

    expect(await answer("/users/2")).toEqual({ status: 200, body: { id: 2, name: "Grace" } })
    const drained = answer("/report?ms=500")
    const tooSlow = answer("/report?ms=60000")
    while ((await answer("/health")).body.inFlight < 2); // both are running in the reactor
    child.kill("SIGTERM")

    expect(await drained).toEqual({ status: 200, body: { report: "done after 500 ms" } })
    expect(await tooSlow).toMatchObject({ status: 503, body: { error: "ReactorStopped" } })
    expect(await exited).toEqual([130, null])
    expect(lines.slice(1)).toEqual(["server closed", "db closed, 0 connection(s) still open"])
  } finally {
    child.kill("SIGKILL")
  }
}, 30_000)
