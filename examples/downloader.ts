/**
 * A web app that downloads in the background (Crochet's Flask downloader).
 *
 * `GET /download?path=/page` starts downloading that path from a file server
 * in the reactor (`runInReactor`), stashes the result and puts its id in a
 * cookie. `GET /` then retrieves it: still running (stash it again, new
 * cookie), done (show the page) or failed (show the error with its trace).
 * The file server is started here too, on 127.0.0.1; `/page?delay=ms` answers
 * slowly, `/missing` is a 404.
 *
 *   npx node examples/downloader.ts        # then open the printed URL
 *   npx node examples/downloader.ts --redis redis://127.0.0.1:6379
 *
 * With `--redis`, results are stashed in Redis (`@crochet/redis-store`):
 * run several copies behind a load balancer, and a later request may land on
 * any of them.
 */
import { Reactor, ResultNotFound, TimeoutError } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"

/** A download that did not give a page. */
export class DownloadError extends Data.TaggedError("DownloadError")<{
  readonly url: string
  readonly message: string
}> {}

/** Fetches a URL; interrupting the effect aborts the request. */
export const download = Effect.fn("download")(function*(url: string) {
  const response = yield* Effect.tryPromise({
    try: (signal) => fetch(url, { signal }),
    catch: (error) => new DownloadError({ url, message: `GET ${url} failed: ${String(error)}` })
  })
  if (!response.ok) {
    return yield* new DownloadError({ url, message: `GET ${url} answered ${response.status} ${response.statusText}` })
  }
  return yield* Effect.promise(() => response.text())
})

const layer = Layer.empty
let reactor: Reactor.Reactor<never> | undefined
let store: RedisResultStore.RedisResultStore | undefined
let servers: Array<http.Server> = []
let filesUrl = ""

/** The app's request handler: plain async code, no Effect in sight but the reactor. */
async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://app")
  // `cookie`: a new download id to remember, "" to forget it, undefined to leave it as it is.
  const send = (status: number, body: string, cookie?: string) => {
    response.writeHead(status, {
      "content-type": "text/plain; charset=utf-8",
      ...(cookie === undefined ? {} : { "set-cookie": cookieFor(cookie) })
    })
    response.end(body)
  }

  if (url.pathname === "/download") {
    const result = reactor!.runInReactor(download(filesUrl + (url.searchParams.get("path") ?? "/page")))
    response.writeHead(303, { location: "/", "set-cookie": cookieFor(result.stash()) })
    return void response.end()
  }
  if (url.pathname !== "/") return send(404, "Not found\n")

  const id = /(?:^|;\s*)download=([^;]+)/.exec(request.headers.cookie ?? "")?.[1]
  if (id === undefined) return send(200, "No download yet: GET /download?path=/page to start one.\n")
  let result
  try {
    result = reactor!.retrieve(decodeURIComponent(id))
  } catch (error) {
    // An id shown already, from before a restart, or a mangled cookie.
    if (error instanceof ResultNotFound || error instanceof URIError) {
      return send(404, "No such download (already shown, or from before a restart).\n", "")
    }
    throw error
  }
  try {
    // A short wait rather than poll(): a handle from a shared store needs a round trip to Redis.
    const page = await result.wait({ timeout: "100 millis" })
    send(200, `Downloaded:\n${String(page)}`, "")
  } catch (error) {
    if (error instanceof TimeoutError) {
      // Still running: put it back, under a new id, for the next request.
      return send(202, "Download in progress, refresh to see it.\n", result.stash())
    }
    // A shared store says "unknown id" through the handle.
    if (error instanceof ResultNotFound) return send(404, "No such download (already shown, or expired).\n", "")
    // The effect's own error; its stack shows the span trace (`at download`), even from another process.
    send(502, `Download failed: ${(error as Error).stack}\n`, "")
  }
}

const cookieFor = (id: string): string =>
  id === "" ? "download=; Max-Age=0; Path=/" : `download=${encodeURIComponent(id)}; HttpOnly; Path=/`

/** A stand-in for the web: `/page?delay=ms` after a delay, 404 for anything else. */
function fileServer(): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://files")
    if (url.pathname !== "/page") {
      response.writeHead(404).end("no such file\n")
      return
    }
    const timer = setTimeout(() => {
      response.writeHead(200, { "content-type": "text/html" }).end("<h1>Hello from the file server</h1>\n")
    }, Number(url.searchParams.get("delay") ?? 0))
    response.on("close", () => clearTimeout(timer))
  })
}

const listen = (server: http.Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  })

/**
 * Starts the file server, the reactor and the app, each on 127.0.0.1 and a free port.
 * With `redis` (a URL), stashed results go to Redis, shared with other copies.
 */
export async function start(
  options?: { readonly redis?: string | undefined }
): Promise<{ readonly app: number; readonly files: number }> {
  store = options?.redis === undefined ? undefined : RedisResultStore.make({ url: options.redis })
  reactor = Reactor.setup(layer, { logLevel: "Error", resultStore: store })
  const files = fileServer()
  const app = http.createServer((request, response) => {
    handle(request, response).catch((error) => {
      response.writeHead(500).end(`Internal error: ${String(error)}\n`)
    })
  })
  servers = [app, files]
  const filesPort = await listen(files)
  filesUrl = `http://127.0.0.1:${filesPort}`
  return { app: await listen(app), files: filesPort }
}

/** Stops taking requests, shuts the reactor down (interrupting downloads), then closes the file server. */
export async function stop(): Promise<void> {
  const [app, files] = servers
  servers = []
  app?.closeAllConnections()
  await new Promise((resolve) => app ? app.close(resolve) : resolve(undefined))
  await reactor?.shutdown()
  await store?.close()
  files?.closeAllConnections()
  await new Promise((resolve) => files ? files.close(resolve) : resolve(undefined))
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const flag = process.argv.indexOf("--redis")
  const { app } = await start({ redis: flag < 0 ? undefined : process.argv[flag + 1] ?? "redis://127.0.0.1:6379" })
  console.log(`Downloader on http://127.0.0.1:${app}/download?path=/page%3Fdelay%3D3000 (Ctrl-C to stop)`)
  process.once("SIGINT", () => void stop())
}
