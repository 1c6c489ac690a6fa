/**
 * Async DNS lookups through a reactor (Crochet's `@wait_for` DNS example).
 *
 * Plain async code calls `lookup(name)`; the reactor runs it with the `Dns`
 * service from its layer and gives up after 5 seconds (interrupting the work).
 * A failure is the service's own typed `DnsError`, and its stack shows the
 * Effect span names (`Dns.lookup`) and the plain callers (`main`).
 *
 *   npx node examples/async-dns.ts localhost
 *   npx node examples/async-dns.ts no-such-host.invalid
 */
import { Reactor } from "@crochet/core"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as dns from "node:dns/promises"
import { pathToFileURL } from "node:url"

/** A lookup that failed: the name and the resolver's error code (`ENOTFOUND`, ...). */
export class DnsError extends Data.TaggedError("DnsError")<{
  readonly hostname: string
  readonly code: string
  readonly message: string
}> {}

/** The DNS service: one method, an Effect that fails with `DnsError`. */
export class Dns extends Context.Service<Dns, {
  readonly lookup: (hostname: string) => Effect.Effect<string, DnsError>
}>()("examples/Dns") {
  static readonly layer = Layer.succeed(Dns, {
    lookup: Effect.fn("Dns.lookup")(function*(hostname: string) {
      const { address } = yield* Effect.tryPromise({
        try: () => dns.lookup(hostname),
        catch: (error) =>
          new DnsError({
            hostname,
            code: String((error as { code?: unknown }).code ?? "UNKNOWN"),
            message: `Could not resolve ${JSON.stringify(hostname)}: ${(error as Error).message}`
          })
      })
      return address
    })
  })
}

/** One reactor per process, built on first use (`setup` is lazy). */
export const reactor = Reactor.setup(Dns.layer, { logLevel: "Error" })

/** `lookup(name)`: a plain async function for the rest of the program. */
export const lookup = reactor.waitFor(
  (hostname: string) => Effect.flatMap(Dns, (dns) => dns.lookup(hostname)),
  { timeout: "5 seconds" }
)

async function main(names: ReadonlyArray<string>): Promise<number> {
  let failures = 0
  for (const name of names) {
    try {
      console.log(`${name} -> ${await lookup(name)}`)
    } catch (error) {
      failures++
      console.error(error instanceof DnsError ? `${name} -> ${error.code}` : `${name} -> failed`)
      console.error((error as Error).stack)
    }
  }
  await reactor.shutdown()
  return failures
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const names = process.argv.slice(2)
  process.exitCode = await main(names.length > 0 ? names : ["localhost"]) > 0 ? 1 : 0
}
