/**
 * An Effect application that owns the reactor (Crochet's `no_setup()`): it is
 * run by `NodeRuntime.runMain`, makes the reactor with `Reactor.make` inside
 * its own scope, and hands it to code that is not written in Effect — a plain
 * `node:http` server (`reactor.waitFor`) and two worker threads whose
 * synchronous code blocks on the same reactor (`MainThreadBridge`).
 *
 * On SIGTERM (or Ctrl-C) `runMain` interrupts the program and its scope
 * closes: the server stops accepting connections, the reactor drains (calls in
 * flight may finish within 5 seconds), then stops — callers still waiting get
 * `ReactorStopped` (HTTP 503; a blocked worker gets it too) — and only then
 * do the services' finalizers run. The process exits with runMain's code for
 * an interrupted program, 130. The toolkit installs no signal handler of its
 * own: core's `Reactor.make` has none, runMain owns them.
 *
 *   npx node examples/from-effect-app.ts 8080       (no port: a free one; the URL is printed)
 *
 * then, from another terminal (curl, or any HTTP client: a browser will do):
 *
 *   curl 'http://127.0.0.1:8080/job?name=a&ms=2000'          (in the reactor)
 *   curl 'http://127.0.0.1:8080/worker-job?name=b&ms=2000'   (a worker blocks on the reactor)
 *
 * and Ctrl-C (SIGINT) in the first one, or `kill -TERM` its process, to see the shutdown.
 */
import { Reactor, ReactorStopped } from "@crochet/core"
import { MainThreadBridge } from "@crochet/platform-node"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { once } from "node:events"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { FromWorker, ToWorker } from "./from-effect-app.worker.ts"

/** How long in-flight calls may go on after SIGTERM. */
const drain = "5 seconds"

// console.log to a pipe or a file is synchronous in Node: no line is lost at exit.
const log = (line: string) => console.log(line)

/** The application's service: jobs that take a while. Its finalizer runs last. */
export class Jobs extends Context.Service<Jobs, {
  readonly run: (name: string, millis: number) => Effect.Effect<string>
}>()("examples/Jobs") {
  static readonly layer = Layer.effect(
    Jobs,
    Effect.acquireRelease(
      Effect.sync(() =>
        Jobs.of({
          run: Effect.fn("Jobs.run")(function*(name: string, millis: number) {
            log(`job ${name}: started (${millis} ms)`)
            yield* Effect.sleep(millis)
            return `job ${name}: done after ${millis} ms`
          })
        })
      ),
      () => Effect.sync(() => log("shutdown: service finalizer (Jobs closed)"))
    )
  )
}

/** What the worker threads may run in the reactor (they import this module for its type only). */
export const operations = {
  runJob: (name: string, millis: number) => Effect.flatMap(Jobs, (jobs) => jobs.run(name, millis))
}

/**
 * A node:http server. Released after the reactor has stopped: it waits (at
 * most 5 s) until the responses in progress, 503s included, are sent.
 */
const httpServer = Effect.acquireRelease(
  Effect.sync(() => {
    const server = createServer()
    const open = new Set<ServerResponse>()
    server.on("request", (_request, response: ServerResponse) => {
      open.add(response)
      response.on("close", () => open.delete(response))
    })
    return { server, open }
  }),
  ({ open, server }) =>
    Effect.promise(() => Promise.all([...open].map((response) => once(response, "close")))).pipe(
      Effect.timeoutOption("5 seconds"),
      Effect.andThen(Effect.sync(() => {
        server.close()
        server.closeAllConnections() // idle keep-alive connections
        log("shutdown: http server closed")
      }))
    )
)

/**
 * Worker threads running synchronous code. Started before the reactor, so
 * released after it has stopped: it waits (at most 5 s) for the replies of
 * jobs in progress — by then they have their value or ReactorStopped.
 */
const workerPool = (size: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const replies = new Map<number, (reply: FromWorker) => void>()
      const inProgress = new Set<Promise<FromWorker>>()
      let nextId = 1
      const workers = Array.from({ length: size }, (_, index) => {
        const worker = new Worker(new URL("./from-effect-app.worker.ts", import.meta.url))
        const jobs = new Set<number>()
        const settle = (reply: FromWorker) => {
          jobs.delete(reply.id)
          replies.get(reply.id)?.(reply)
          replies.delete(reply.id)
        }
        worker.on("message", (reply: FromWorker) => {
          log(`worker ${index + 1}: ${reply.ok ? reply.value : reply.error}`)
          settle(reply)
        })
        worker.on("error", (error) => {
          for (const id of jobs) settle({ id, ok: false, error: `worker ${index + 1} died: ${error}`, stopped: false })
        })
        return { worker, jobs }
      })
      return {
        workers,
        inProgress,
        /** Gives each worker its own endpoint of the bridge. */
        connect: (bridge: MainThreadBridge.Bridge<typeof operations>) => {
          for (const { worker } of workers) {
            const endpoint = bridge.endpoint()
            worker.postMessage({ endpoint } satisfies ToWorker, [endpoint.port])
          }
        },
        /** Runs a job on the least busy worker. */
        run: (name: string, millis: number): Promise<FromWorker> => {
          const target = workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a))
          const id = nextId++
          target.jobs.add(id)
          const reply = new Promise<FromWorker>((resolve) => replies.set(id, resolve))
          inProgress.add(reply)
          void reply.then(() => inProgress.delete(reply))
          target.worker.postMessage({ id, name, millis } satisfies ToWorker)
          return reply
        }
      }
    }),
    ({ inProgress, workers }) =>
      Effect.promise(() => Promise.all(inProgress)).pipe(
        Effect.timeoutOption("5 seconds"),
        Effect.andThen(Effect.promise(() => Promise.all(workers.map(({ worker }) => worker.terminate())))),
        Effect.andThen(Effect.sync(() => log("shutdown: workers stopped")))
      )
  )

/** The application: acquired in this order, released in the reverse one. */
export const program = (port: number) =>
  Effect.gen(function*() {
    const { server } = yield* httpServer
    const pool = yield* workerPool(2)
    const reactor = yield* Reactor.make<Jobs>({ drain })
    // Registered last, so it runs first when the scope closes.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        server.close() // no new connections; requests in progress go on
        log(`shutdown: draining ${reactor.stats().inFlight} call(s) in flight, for up to ${drain}`)
        // The same shutdown the scope runs next (it is idempotent): awaited here to log its end.
        yield* Effect.promise(() => reactor.shutdown())
        log(`shutdown: reactor stopped; ${reactor.stats().lastShutdown.pending} call(s) still running were interrupted`)
      })
    )

    // `serve` over this reactor: the workers' calls are drained like the handler's. (MainThreadBridge.make
    // would close its bridge when the scope closes, before the drain: blocked workers would be released at once.)
    pool.connect(MainThreadBridge.serve(reactor, operations))

    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1")
      const name = url.searchParams.get("name") ?? "anonymous"
      const millis = Number(url.searchParams.get("ms") ?? "0")
      const send = (status: number, body: string) => {
        log(`${request.method} ${request.url} -> ${status} ${body}`)
        response.writeHead(status, { "content-type": "text/plain" }).end(`${body}\n`)
      }
      if (!Number.isFinite(millis) || millis < 0 || millis > 60_000) return send(400, "ms must be 0..60000")
      if (url.pathname === "/job") {
        // Plain async code calling into the reactor: a Promise, with a timeout that interrupts the job.
        reactor.waitFor(operations.runJob(name, millis), { timeout: "90 seconds" }).then(
          (value) => send(200, value),
          (error: Error) => send(error instanceof ReactorStopped ? 503 : 500, `${error.name}: ${error.message}`)
        )
      } else if (url.pathname === "/worker-job") {
        // A worker thread runs the job: its synchronous code blocks on this thread's reactor.
        void pool.run(name, millis).then((reply) =>
          reply.ok ? send(200, reply.value) : send(reply.stopped ? 503 : 500, reply.error)
        )
      } else {
        send(404, "try /job?name=a&ms=1000 or /worker-job?name=b&ms=1000")
      }
    })
    server.listen(port, "127.0.0.1")
    yield* Effect.promise(() => once(server, "listening"))
    log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    return yield* Effect.never
  })

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.argv[2] ?? "0")
  NodeRuntime.runMain(program(port).pipe(Effect.scoped, Effect.provide(Jobs.layer)))
}
