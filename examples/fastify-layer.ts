/**
 * The Fastify service of fastify.ts in an Effect application that owns the
 * reactor: `Reactor.layer` gives it under the app's own key, the server is a
 * layer that depends on it, and `NodeRuntime.runMain` runs the whole graph.
 * On SIGTERM (or Ctrl-C) the graph is torn down in reverse: the server closes
 * (its preClose hook drains the reactor: calls in flight may finish within
 * 2 s, the rest get 503), then the reactor layer, then `Db` — by then no
 * query holds a connection. Exit code 130 (runMain's for an interrupted program).
 *
 *   npx node examples/fastify-layer.ts [port]
 */
import { Reactor } from "@crochet/core"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Context, Effect, Layer } from "effect"
import { pathToFileURL } from "node:url"
import { Db, makeApp } from "./fastify.ts"

export class AppReactor extends Context.Service<AppReactor, Reactor.Reactor<Db>>()("examples/AppReactor") {}

/** The Fastify server: listening while the layer lives, closed when it is torn down. */
const ServerLive = (port: number) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const app = makeApp(yield* AppReactor)
    const address = yield* Effect.acquireRelease(
      Effect.promise(() => app.listen({ port, host: "127.0.0.1" })),
      () => Effect.promise(() => app.close()).pipe(Effect.andThen(Effect.sync(() => console.log("server closed"))))
    )
    console.log(`listening on ${address}`)
  }))

/** Db, saying at teardown how many queries still hold a connection. */
const DbLive = Layer.effectDiscard(Effect.addFinalizer(() =>
  Db.use((db) => db.counts).pipe(
    Effect.andThen(({ open }) => Effect.sync(() => console.log(`db closed, ${open} connection(s) still open`)))
  )
)).pipe(Layer.provideMerge(Db.layer))

export const AppLive = (port: number) =>
  ServerLive(port).pipe(
    Layer.provide(Reactor.layer(AppReactor, { drain: "2 seconds" })), // Layer<AppReactor, never, Db>
    Layer.provide(DbLive)
  )

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  NodeRuntime.runMain(Layer.launch(AppLive(Number(process.argv[2] ?? "0"))))
}
