/**
 * A reactor module for ReactorThread (docs/threads.md): a resolver service
 * built by a layer, and one operation. It runs in a background thread; a
 * synchronous caller connects with
 * `ReactorThread.connect<typeof import("./dns.reactor.ts")>(new URL("./dns.reactor.ts", import.meta.url))`.
 */
import { ReactorThread } from "@crochet/platform-node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { LookupError } from "./dns-errors.ts"

class Resolver extends Context.Service<Resolver, {
  readonly lookup: (host: string) => Effect.Effect<string, LookupError>
}>()("examples/threads/Resolver") {}

const ResolverLive = Layer.succeed(Resolver, {
  lookup: Effect.fn("Resolver.lookup")(function*(host: string) {
    const known: Record<string, string> = { "example.com": "93.184.215.14", localhost: "127.0.0.1" }
    const address = known[host]
    if (address === undefined) return yield* new LookupError({ host, message: `no address for ${host}` })
    return address
  })
})

export default ReactorThread.define({
  layer: ResolverLive,
  operations: {
    lookup: (host: string) => Effect.flatMap(Resolver, (resolver) => resolver.lookup(host))
  },
  timeouts: { lookup: "2 seconds" }
})
