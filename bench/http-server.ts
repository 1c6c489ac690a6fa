/**
 * The server of bench/http.ts, run in its own process (with --expose-gc):
 * the same route three ways, plus a slow route for the disconnect run.
 *   GET /plain/:id      a plain async handler: await users.find(id)
 *   GET /managed/:id    ManagedRuntime.runPromise(Effect.timeout(find(id), "5 seconds"))
 *   GET /managed-no-timeout/:id   ManagedRuntime.runPromise(find(id)): Effect's own floor for this route
 *   GET /reactor/:id    reactor.waitFor(find(id), { timeout: "5 seconds", signal: clientGone(reply) }),
 *                       examples/fastify.ts's signal (aborted when the client goes away)
 *   GET /reactor-request-signal/:id   the same with Fastify's request.signal
 *   GET /slow/:ms       reactor.waitFor(a sleep of ms with a finalizer, { timeout, signal })
 *   GET /stats          heap after a GC, the reactor's stats, finalizers run
 *   GET /cpu            the process's CPU time so far (µs)
 */
import { Reactor } from "@crochet/core"
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import Fastify from "fastify"
import { clientGone } from "../examples/fastify.ts"

/** The work: an async data source, as an existing client library would have it. */
const names = ["Ada", "Grace", "Barbara", "Frances"]
const store = { find: async (id: number) => ({ id, name: names[id % names.length]! }) }

class Users extends Context.Service<Users, {
  readonly find: (id: number) => Effect.Effect<{ readonly id: number; readonly name: string }>
}>()("bench/Users") {}

let slowStarted = 0
let finalizers = 0
const UsersLive = Layer.succeed(Users, Users.of({ find: (id) => Effect.promise(() => store.find(id)) }))
const find = (id: number) => Users.use((users) => users.find(id))
const slow = (ms: number) =>
  Effect.sleep(ms).pipe(Effect.ensuring(Effect.sync(() => finalizers++)))

const runtime = ManagedRuntime.make(UsersLive)
const reactor = Reactor.setup(UsersLive)
await runtime.runPromise(Effect.void)
await reactor.waitFor(Effect.void)

const app = Fastify()
app.get<{ Params: { id: string } }>("/plain/:id", (request) => store.find(Number(request.params.id)))
app.get<{ Params: { id: string } }>("/managed/:id", (request) =>
  runtime.runPromise(Effect.timeout(find(Number(request.params.id)), "5 seconds")))
app.get<{ Params: { id: string } }>("/managed-no-timeout/:id", (request) =>
  runtime.runPromise(find(Number(request.params.id))))
app.get<{ Params: { id: string } }>("/reactor/:id", (request, reply) =>
  reactor.waitFor(find(Number(request.params.id)), { timeout: "5 seconds", signal: clientGone(reply) }))
app.get<{ Params: { id: string } }>("/reactor-request-signal/:id", (request) =>
  reactor.waitFor(find(Number(request.params.id)), { timeout: "5 seconds", signal: request.signal }))
app.get<{ Params: { ms: string } }>("/slow/:ms", (request, reply) => {
  slowStarted++
  return reactor.waitFor(slow(Number(request.params.ms)), { timeout: "30 seconds", signal: clientGone(reply) })
})
app.get("/stats", () => {
  globalThis.gc?.()
  globalThis.gc?.()
  return { heapUsed: process.memoryUsage().heapUsed, slowStarted, finalizers, reactor: reactor.stats() }
})

app.get("/cpu", () => {
  const usage = process.cpuUsage()
  return { micros: usage.user + usage.system }
})

console.log(await app.listen({ port: 0, host: "127.0.0.1" }))
process.once("SIGTERM", () => void app.close().then(() => reactor.shutdown()).then(() => runtime.dispose()))
