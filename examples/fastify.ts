/**
 * A Fastify 5 service whose routes call Effect services through a reactor:
 * - each route gives `waitFor` its own timeout, and an abort signal for the
 *   request: a client that disconnects interrupts its fiber (finalizers run);
 * - errors become status codes by `_tag`: a typed domain error → 404,
 *   `TimeoutError` → 504, `ReactorStopped` → 503;
 * - graceful shutdown: `app.close()` (on SIGTERM) runs the `preClose` hook,
 *   where the reactor drains — calls in flight may finish within `drain` —
 *   then stops (callers still waiting get 503), before the server closes.
 *
 *   npx node examples/fastify.ts [port] [drain]     (defaults: a free port, "5 seconds")
 *   curl 127.0.0.1:PORT/users/1       → 200 {"id":1,"name":"Ada"}
 *   curl 127.0.0.1:PORT/users/7       → 404 {"error":"UserNotFound",...}
 *   curl '127.0.0.1:PORT/report?ms=9000'  → 504 after 5 s (the route's timeout)
 *   curl 127.0.0.1:PORT/health        → 200 {"status":"running","inFlight":0,...}
 */
import { Reactor } from "@crochet/core"
import { Context, Data, type Duration, Effect, Layer } from "effect"
import Fastify, { type FastifyError, type FastifyReply } from "fastify"
import { pathToFileURL } from "node:url"

// --- The Effect side: a service built by a layer -------------------------------

export class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: number }> {
  override get message() {
    return `There is no user with id ${this.id}.`
  }
}

/** A database stand-in: a query holds a connection for `ms`; the counts say what became of them. */
export class Db extends Context.Service<Db, {
  readonly query: <A>(ms: number, result: A) => Effect.Effect<A>
  readonly counts: Effect.Effect<{ readonly open: number; readonly finished: number; readonly interrupted: number }>
}>()("examples/fastify/Db") {
  static readonly layer = Layer.sync(Db, () => {
    const counts = { open: 0, finished: 0, interrupted: 0 }
    const connection = Effect.acquireRelease(
      Effect.sync(() => counts.open++),
      (_, exit) =>
        Effect.sync(() => {
          counts.open--
          if (exit._tag === "Success") counts.finished++
          else counts.interrupted++
        })
    )
    return Db.of({
      query: (ms, result) =>
        Effect.scoped(Effect.as(Effect.andThen(connection, ms > 0 ? Effect.sleep(ms) : Effect.void), result)),
      counts: Effect.sync(() => ({ ...counts }))
    })
  })
}

const names = new Map([[1, "Ada"], [2, "Grace"]])

export const findUser = Effect.fn("findUser")(function*(id: number) {
  const name = yield* Db.use((db) => db.query(0, names.get(id)))
  if (name === undefined) return yield* new UserNotFound({ id })
  return { id, name }
})

export const report = Effect.fn("report")(function*(ms: number) {
  return yield* Db.use((db) => db.query(ms, { report: `done after ${ms} ms` }))
})

// --- The Fastify side ------------------------------------------------------------

/** The status code of an error, by its `_tag`. */
const statusOf = (error: FastifyError & { readonly _tag?: string }): number => {
  switch (error._tag) {
    case "UserNotFound":
      return 404
    case "TimeoutError":
      return 504
    case "ReactorStopped":
      return 503
    case "Aborted":
      return 499 // the client went away; nobody reads this
    default:
      return error.statusCode ?? 500 // Fastify's own (400 for a bad querystring...)
  }
}

/**
 * Aborts when the client goes away before the response is sent. (Fastify's
 * `request.signal` does too, but with no logger and no onResponse hook Fastify
 * also aborts it after every response: a DOMException per request, 20–45 µs
 * of server CPU in bench/http.ts.)
 */
export const clientGone = (reply: FastifyReply): AbortSignal => {
  const controller = new AbortController()
  reply.raw.on("close", () => reply.raw.writableFinished || controller.abort())
  return controller.signal
}

export const makeApp = (reactor: Reactor.Reactor<Db>) => {
  const app = Fastify()

  app.get<{ Params: { id: string } }>(
    "/users/:id",
    (request, reply) =>
      reactor.waitFor(findUser(Number(request.params.id)), { timeout: "2 seconds", signal: clientGone(reply) })
  )

  app.get<{ Querystring: { ms: number } }>("/report", {
    schema: { querystring: { type: "object", properties: { ms: { type: "integer", minimum: 0 } }, required: ["ms"] } }
  }, (request, reply) => reactor.waitFor(report(request.query.ms), { timeout: "5 seconds", signal: clientGone(reply) }))

  // For the load balancer: 503 once the reactor drains, so it stops sending requests here.
  app.get("/health", (_request, reply) => reply.code(reactor.status === "running" ? 200 : 503).send(reactor.stats()))

  app.setErrorHandler((error: FastifyError & { readonly _tag?: string }, _request, reply) =>
    reply.code(statusOf(error)).send({ error: error._tag ?? error.name, message: error.message })
  )

  // preClose, not onClose: Fastify runs onClose only once every connection has ended, which
  // an idle keep-alive client can put off for keepAliveTimeout (72 s) — too late to drain.
  app.addHook("preClose", () => reactor.shutdown())
  return app
}

export const main = async (port: number, drain: Duration.Input) => {
  const reactor = Reactor.setup(Db.layer, { drain })
  const app = makeApp(reactor)
  process.once("SIGTERM", () => void app.close())
  const address = await app.listen({ port, host: "127.0.0.1" })
  console.log(`listening on ${address}`)
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main(Number(process.argv[2] ?? "0"), (process.argv[3] ?? "5 seconds") as Duration.Input) // a bad one throws InvalidArgument
}
