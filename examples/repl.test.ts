import { spawn } from "node:child_process"
import { once } from "node:events"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import { describe, expect, it, onTestFinished } from "vitest"

const script = fileURLToPath(new URL("./repl.ts", import.meta.url))

/** Starts the REPL example with piped stdin; `send` types a line and resolves with the output up to the next prompt. */
const startRepl = () => {
  const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] })
  let output = ""
  let waiting: (() => void) | undefined
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk
    waiting?.()
  })
  const nextPrompt = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no prompt; output so far:\n${output}`)), 10_000)
      const check = () => {
        const end = output.indexOf("crochet> ")
        if (end < 0) return
        clearTimeout(timer)
        const answer = output.slice(0, end)
        output = output.slice(end + "crochet> ".length)
        waiting = undefined
        resolve(answer.trim())
      }
      waiting = check
      check()
    })
  const send = (line: string) => {
    child.stdin.write(`${line}\n`)
    return nextPrompt()
  }
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
  const end = async () => {
    child.stdin.end()
    const code = await exited
    return { code, output }
  }
  return { child, end, nextPrompt, send }
}

describe("examples/repl.ts", () => {
  it("calls the reactor's services from the prompt, shows errors with their trace, and shuts down on end of input", async () => {
    const repl = startRepl()
    onTestFinished(() => void repl.child.kill())
    expect(await repl.nextPrompt()).toContain("Helpers: run(effect)")
    expect(await repl.send(`await run(services.kv.set("greeting", "hello"))`)).toBe("undefined")
    expect(await repl.send(`await run(services.kv.get("greeting"))`)).toBe(
      "{ _id: 'Option', _tag: 'Some', value: 'hello' }"
    )
    expect(await repl.send(`await run(services.kv.keys)`)).toBe("[ 'greeting' ]")
    expect(await repl.send(`reactor.status`)).toBe("'running'")

    const failed = await repl.send(`await run(Effect.fail(new Error("boom")).pipe(Effect.withSpan("demo")))`)
    expect(failed).toMatch(/^Uncaught Error: boom\n/)
    expect(failed).toMatch(/^ {4}at demo \(REPL\d+:\d+:\d+\)$/m) // the span, from the Effect trace
    expect(await repl.send(`_error.message`)).toBe("'boom'")

    const { code, output } = await repl.end()
    expect(output.trim()).toBe("reactor stopped, bye")
    expect(code).toBe(0)
  })
  it("Ctrl-C (SIGINT) interrupts a call that never ends; the session goes on; with no call running it leaves", async () => {
    const repl = startRepl()
    onTestFinished(() => void repl.child.kill())
    await repl.nextPrompt()
    repl.child.stdin.write("await run(Effect.never)\n")
    // The call is running once the reactor counts it in flight; no timing guess.
    expect(await repl.send("reactor.stats().inFlight")).toBe("1")
    repl.child.kill("SIGINT")
    const interrupted = await repl.nextPrompt()
    expect(interrupted).toMatch(/^Uncaught/)
    expect(interrupted).toContain("waitFor was aborted by its AbortSignal, so the work was interrupted.")
    expect(interrupted).toContain("_tag: 'Aborted'")
    expect(await repl.send("reactor.stats().inFlight")).toBe("0")
    expect(await repl.send(`await run(services.kv.keys)`)).toBe("[]")
    repl.child.kill("SIGINT")
    const { code, output } = await repl.end()
    expect(output.trim()).toBe("reactor stopped, bye")
    expect(code).toBe(0)
  })

  it("serves sessions on 127.0.0.1 TCP, sharing the reactor; SIGTERM shuts it down", async () => {
    const child = spawn(process.execPath, [script, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] })
    onTestFinished(() => void child.kill())
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    while (!/REPL on 127\.0\.0\.1:\d+/.test(stdout)) await once(child.stdout, "data")
    const port = Number(/REPL on 127\.0\.0\.1:(\d+)/.exec(stdout)![1])

    /** One TCP session: `send` types a line and resolves with the answer before the next prompt. */
    const connect = async () => {
      const socket = net.connect(port, "127.0.0.1")
      socket.setEncoding("utf8")
      let buffer = ""
      socket.on("data", (chunk: string) => (buffer += chunk))
      const prompt = async () => {
        while (!buffer.includes("crochet> ")) await once(socket, "data")
        const answer = buffer.slice(0, buffer.indexOf("crochet> "))
        buffer = buffer.slice(answer.length + "crochet> ".length)
        return answer.trim()
      }
      await prompt()
      return { socket, send: (line: string) => (socket.write(`${line}\n`), prompt()) }
    }

    const first = await connect()
    expect(await first.send(`await run(services.kv.set("from", "first"))`)).toBe("undefined")
    first.socket.end(".exit\n")
    const second = await connect()
    expect(await second.send(`await run(services.kv.get("from"))`)).toBe(
      "{ _id: 'Option', _tag: 'Some', value: 'first' }"
    )
    expect(await second.send(`reactor.status`)).toBe("'running'")
    // A Ctrl-C byte (what `--connect` sends) interrupts the running call.
    second.socket.write("await run(Effect.never)\n")
    expect(await second.send("reactor.stats().inFlight")).toBe("1")
    second.socket.write("\x03")
    expect(await second.send("")).toContain("_tag: 'Aborted'")

    // The example's own client: Ctrl-C (SIGINT) in it interrupts the call running in the server.
    const client = spawn(process.execPath, [script, "--connect", String(port)], { stdio: ["pipe", "pipe", "pipe"] })
    onTestFinished(() => void client.kill())
    let seen = ""
    client.stdout.setEncoding("utf8").on("data", (chunk: string) => (seen += chunk))
    const until = async (text: string) => {
      while (!seen.includes(text)) await once(client.stdout, "data")
    }
    client.stdin.write("await run(Effect.never)\nreactor.stats().inFlight\n")
    await until("crochet> 1\n")
    client.kill("SIGINT")
    await until("_tag: 'Aborted'")
    const clientExit = new Promise<number | null>((resolve) => client.on("exit", resolve))
    client.stdin.end()
    expect(await clientExit).toBe(0)

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(stdout).toContain("reactor stopped, bye")
  })
})
