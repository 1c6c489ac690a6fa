/**
 * A REPL attached to a running reactor (Crochet's interactive use): poke at
 * the services of a live program from a prompt.
 *
 * In the REPL:
 *   await run(services.kv.set("greeting", "hello"))   // run any Effect in the reactor
 *   await run(services.kv.get("greeting"))            // => 'hello'
 *   await run(Effect.fail(new Error("boom")))         // the error, with its trace
 *   _error.stack                                      // the last error's trace (a Node REPL variable)
 *   reactor.status                                    // 'running'
 *   await run(Effect.never)                           // then Ctrl-C: the call is interrupted (Aborted)
 * Ctrl-C interrupts the running calls; with none running, on stdin, it shuts
 * the reactor down like `.exit` (or end of input).
 *
 *   npx node examples/repl.ts                  # on stdin
 *   npx node examples/repl.ts --port 7000      # on 127.0.0.1:7000, one session per connection
 *   npx node examples/repl.ts --connect 7000   # a client for it (Ctrl-C interrupts, Ctrl-D leaves)
 */
import { Reactor } from "@crochet/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as net from "node:net"
import * as repl from "node:repl"
import { Transform } from "node:stream"
import { pathToFileURL } from "node:url"

/** A small in-memory key-value store: the service to poke at. */
export class Kv extends Context.Service<Kv, {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>>
  readonly set: (key: string, value: string) => Effect.Effect<void>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
}>()("examples/Kv") {
  static readonly layer = Layer.effect(
    Kv,
    Effect.gen(function*() {
      const entries = yield* Ref.make(new Map<string, string>())
      return {
        get: (key) => Effect.map(Ref.get(entries), (map) => Option.fromNullishOr(map.get(key))),
        set: (key, value) => Ref.update(entries, (map) => new Map(map).set(key, value)),
        keys: Effect.map(Ref.get(entries), (map) => [...map.keys()])
      }
    })
  )
}

export const reactor = Reactor.setup(Kv.layer, { logLevel: "Error" })

/** Aborts the calls made with `run` that are running (Ctrl-C); replaced after each use. */
let calls = new AbortController()
let running = 0

/** Runs an Effect in the reactor and waits for it (30 s at most, or until Ctrl-C): the REPL's main helper. */
export const run = <A, E>(effect: Effect.Effect<A, E, Kv>): Promise<A> => {
  running++
  return reactor.waitFor(effect, { timeout: "30 seconds", signal: calls.signal }).finally(() => running--)
}

/** Interrupts every running `run` (its await rejects with Aborted); false when none runs. */
export const interrupt = (): boolean => {
  if (running === 0) return false
  calls.abort(new Error("interrupted with Ctrl-C"))
  calls = new AbortController()
  return true
}

/** The input of a session, minus Ctrl-C bytes (sent by `--connect`), which interrupt the running calls instead. */
const withCtrlC = (input: NodeJS.ReadableStream, output: NodeJS.WritableStream): NodeJS.ReadableStream =>
  input.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const text = chunk.toString("utf8")
        if (text.includes("\x03") && !interrupt()) output.write("(nothing to interrupt; .exit ends the session)\n")
        done(null, text.replaceAll("\x03", ""))
      }
    })
  )

/** The helpers every REPL session sees, fetched once from the running reactor (this builds its layer). */
const helpers = async () => ({ Effect, Option, reactor, run, services: { kv: await run(Kv) } })

/**
 * Starts a REPL session on `input`/`output`. `useGlobal` makes the session
 * share this module's realm, so an `Error` typed at the prompt is an `Error`
 * here too; its context is then `globalThis`, so the helpers become globals
 * of this process.
 */
export async function session(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<repl.REPLServer> {
  Object.assign(globalThis, await helpers())
  return repl.start({
    prompt: "crochet> ",
    input: withCtrlC(input, output),
    output,
    terminal: false,
    useColors: false,
    useGlobal: true
  })
}

/** A REPL on stdin/stdout; the reactor shuts down when it ends (`.exit` or end of input). */
export async function onStdin(): Promise<void> {
  const server = await session(process.stdin, process.stdout)
  // Ctrl-C: interrupt the running call, or leave when there is none.
  const onSigint = () => {
    if (!interrupt()) server.close()
  }
  process.on("SIGINT", onSigint)
  server.on("exit", () => {
    process.off("SIGINT", onSigint)
    void reactor.shutdown().then(() => console.log(`reactor ${reactor.status}, bye`))
  })
}

/**
 * A REPL server on 127.0.0.1 (connect with `--connect <port>`, or any TCP
 * client): each connection gets its own session and `.exit` ends only that
 * one. SIGINT/SIGTERM stop the server and shut the reactor down.
 */
export async function onTcp(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    session(socket, socket).then(
      (repl) => repl.on("exit", () => socket.end()),
      (error) => socket.end(`cannot start a session: ${String(error)}\n`)
    )
  })
  const sockets = new Set<net.Socket>()
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  const stop = () => {
    server.close()
    for (const socket of sockets) socket.destroy()
    void reactor.shutdown().then(() => console.log(`reactor ${reactor.status}, bye`))
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return server
}

/** A client for `--port`: lines go to the server; Ctrl-C is sent on (it interrupts the running call there). */
export function connect(port: number): net.Socket {
  const socket = net.connect(port, "127.0.0.1")
  process.stdin.pipe(socket)
  socket.pipe(process.stdout)
  process.on("SIGINT", () => socket.write("\x03"))
  socket.on("close", () => process.exit(0))
  socket.on("error", (error) => {
    console.error(`cannot reach the REPL on 127.0.0.1:${port} (${error.message}); start it with --port ${port}`)
    process.exit(1)
  })
  return socket
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href && process.argv.includes("--connect")) {
  connect(Number(process.argv[process.argv.indexOf("--connect") + 1]))
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const usage = "Helpers: run(effect), services.kv, reactor, Effect, Option. Try: await run(services.kv.keys)\n" +
    "After an error, _error.stack shows its trace. Ctrl-C interrupts a running call."
  const portAt = process.argv.indexOf("--port")
  if (portAt < 0) {
    console.log(`${usage} .exit shuts the reactor down.`)
    await onStdin()
  } else {
    const server = await onTcp(Number(process.argv[portAt + 1] ?? 0))
    const { port } = server.address() as net.AddressInfo
    console.log(
      `REPL on 127.0.0.1:${port} (try: npx node examples/repl.ts --connect ${port}). Ctrl-C here shuts the reactor down.\n${usage}`
    )
  }
}
