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
 * `.exit` (or end of input) shuts the reactor down.
 *
 *   node examples/repl.ts
 */
import { Reactor } from "@crochet/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as repl from "node:repl"
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

/** Runs an Effect in the reactor and waits for it (30 s at most): the REPL's main helper. */
export const run = <A, E>(effect: Effect.Effect<A, E, Kv>): Promise<A> => reactor.waitFor(effect, { timeout: "30 seconds" })

/** Starts the REPL on `input`/`output` (stdin/stdout by default); shuts the reactor down when it closes. */
export async function start(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout
): Promise<repl.REPLServer> {
  // The service values, fetched once from the running reactor (this builds its layer).
  const services = { kv: await run(Kv) }
  // useGlobal: the REPL shares this module's realm, so `new Error()` typed at the prompt is an `Error` here too.
  const server = repl.start({ prompt: "crochet> ", input, output, terminal: false, useColors: false, useGlobal: true })
  // With useGlobal, server.context is globalThis: the helpers become globals of this process.
  Object.assign(server.context, { Effect, Option, reactor, run, services })
  server.on("exit", () => {
    void reactor.shutdown().then(() => output.write(`reactor ${reactor.status}, bye\n`))
  })
  return server
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log("Helpers: run(effect), services.kv, reactor, Effect, Option. Try: await run(services.kv.keys)")
  console.log("After an error, _error.stack shows its trace. .exit shuts the reactor down.")
  await start()
}
