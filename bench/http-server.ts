/**
 * The server of bench/http.ts, run in its own process (with --expose-gc):
 * the same route three ways, on two data sources, plus a slow route for the
 * disconnect run. PREFIX is "/cpu" (a data source that answers at once: the
 * server is CPU-bound and the cost per request shows) or "/io" (it answers
 * after IO_DELAY_MS, as a database query would: the route waits on I/O).
 *   GET PREFIX/plain/:id      a plain async handler: await users.find(id)
 *   GET PREFIX/managed/:id    ManagedRuntime.runPromise(Effect.timeout(find(id), "5 seconds"))
 *   GET PREFIX/managed-no-timeout/:id   ManagedRuntime.runPromise(find(id)): Effect's own floor for this route
 *   GET PREFIX/reactor/:id    reactor.waitFor(find(id), { timeout: "5 seconds", signal: clientGone(reply) }),
 *                             examples/fastify.ts's signal (aborted when the client goes away)
 *   GET /cpu/reactor-request-signal/:id   the same with Fastify's request.signal
 *   GET /slow/:ms       reactor.waitFor(a sleep of ms with a finalizer, { timeout, signal })
 *   GET /stats          heap after a GC, the reactor's stats, finalizers run
 *   GET /usage          the process's CPU time so far (µs)
 */
import { Reactor } from "@crochet/core"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import Fastify from "fastify"
import { clientGone } from "../examples/fastify.ts"

/** The work: an async data source, as an existing client library would have it. */
const names = ["Ada", "Grace", "Barbara", "Frances"]
const ioDelayMs = Number(process.env.IO_DELAY_MS ?? 2)
const sources = {
  cpu: { find: async (id: number) => ({ id, name: names[id % names.length]! }) },
  io: {
    find: (id: number) =>
      new Promise<{ id: number; name: string }>((resolve) =>
        setTimeout(() => resolve({ id, name: names[id % names.length]! }), ioDelayMs)
      )
  }
}

class Users extends Context.Service<Users, {
  readonly find: (id: number) => Effect.Effect<{ readonly id: number; readonly name: string }>
}>()("bench/Users") {}

let slowStarted = 0
let finalizers = 0
const find = (id: number) => Users.use((users) => users.find(id))
const slow = (ms: number) => Effect.sleep(ms).pipe(Effect.ensuring(Effect.sync(() => finalizers++)))

const app = Fastify()
/** Each data source gets its runtime and its reactor, built from a layer of its own. */
const runtimes = Object.entries(sources).map(([prefix, source]) => {
  const UsersLive = Layer.succeed(Users, Users.of({ find: (id) => Effect.promise(() => source.find(id)) }))
  const runtime = ManagedRuntime.make(UsersLive)
  const reactor = Reactor.setup(UsersLive)
  app.get<{ Params: { id: string } }>(`/${prefix}/plain/:id`, (request) => source.find(Number(request.params.id)))
  app.get<{ Params: { id: string } }>(
    `/${prefix}/managed/:id`,
    (request) => runtime.runPromise(Effect.timeout(find(Number(request.params.id)), "5 seconds"))
  )
  app.get<{ Params: { id: string } }>(
    `/${prefix}/managed-no-timeout/:id`,
    (request) => runtime.runPromise(find(Number(request.params.id)))
  )
  app.get<{ Params: { id: string } }>(
    `/${prefix}/reactor/:id`,
    (request, reply) =>
      reactor.waitFor(find(Number(request.params.id)), { timeout: "5 seconds", signal: clientGone(reply) })
  )
  return { runtime, reactor }
})
for (const { reactor, runtime } of runtimes) {
  await runtime.runPromise(Effect.void)
  await reactor.waitFor(Effect.void)
}
const { reactor } = runtimes[0]!
app.get<{ Params: { id: string } }>(
  "/cpu/reactor-request-signal/:id",
  (request) => reactor.waitFor(find(Number(request.params.id)), { timeout: "5 seconds", signal: request.signal })
)
app.get<{ Params: { ms: string } }>("/slow/:ms", (request, reply) => {
  slowStarted++
  return reactor.waitFor(slow(Number(request.params.ms)), { timeout: "30 seconds", signal: clientGone(reply) })
})
app.get("/stats", () => {
  globalThis.gc?.()
  globalThis.gc?.()
  return { heapUsed: process.memoryUsage().heapUsed, slowStarted, finalizers, reactor: reactor.stats() }
})

app.get("/usage", () => {
  const usage = process.cpuUsage()
  return { micros: usage.user + usage.system }
})

console.log(await app.listen({ port: 0, host: "127.0.0.1" }))
process.once(
  "SIGTERM",
  () =>
    void app.close().then(() =>
      Promise.all(runtimes.map(({ reactor, runtime }) => reactor.shutdown().then(() => runtime.dispose())))
    )
)
