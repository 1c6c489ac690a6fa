/**
 * Blocking DNS lookups for synchronous code (Crochet's `@wait_for` from a
 * thread that cannot wait asynchronously).
 *
 * `gethostbyname(name)` is a plain synchronous function: it blocks until the
 * reactor thread answers, fails, or 5 seconds pass (then the lookup is
 * interrupted there). The reactor thread runs examples/blocking-dns.reactor.ts,
 * whose layer is `@effect/platform-node`'s `Dns` service. A failure is Effect's
 * own `DnsError` (registered below, so `instanceof` works on this side); its
 * stack shows the reactor-side spans (`at gethostbyname`) and this thread's
 * callers (`at main`).
 *
 *   npx node examples/blocking-dns.ts localhost
 *   npx node examples/blocking-dns.ts no-such-host.invalid
 */
import { ReactorThread } from "@crochet/platform-node"
import * as Dns from "effect/net/Dns"
import { pathToFileURL } from "node:url"

const reactor = ReactorThread.connect<typeof import("./blocking-dns.reactor.ts")>(
  new URL("./blocking-dns.reactor.ts", import.meta.url),
  { timeout: "5 seconds", errors: [Dns.DnsError] }
)

/** The address of `name`. Blocks; throws `DnsError`, or `TimeoutError` after 5 seconds. */
export function gethostbyname(name: string): string {
  return reactor.call.gethostbyname(name)
}

function main(names: ReadonlyArray<string>): number {
  let failures = 0
  for (const name of names) {
    try {
      console.log(`${name} -> ${gethostbyname(name)}`)
    } catch (error) {
      failures++
      console.error(error instanceof Dns.DnsError ? `${name} -> ${error.reason}` : `${name} -> failed`)
      console.error((error as Error).stack)
    }
  }
  reactor.shutdown() // blocks until the reactor thread has stopped (it would also stop at exit)
  return failures
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const names = process.argv.slice(2)
  process.exitCode = main(names.length > 0 ? names : ["localhost"]) > 0 ? 1 : 0
}
