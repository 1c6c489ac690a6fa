/**
 * One cold start, in a fresh process (run by bench/threads.ts): the time from
 * before importing the library to the first answer of a blocking call.
 *   npx node bench/cold-start.ts crochet   ReactorThread.connect (importing @crochet/platform-node included) → call.echo
 *   npx node bench/cold-start.ts synckit   importing synckit → createSyncFn → the first call
 * Prints the milliseconds.
 */
import { fileURLToPath } from "node:url"

const started = performance.now()
if (process.argv[2] === "crochet") {
  const { ReactorThread } = await import("@crochet/platform-node")
  const client = ReactorThread.connect<typeof import("./echo.reactor.ts")>(new URL("./echo.reactor.ts", import.meta.url))
  client.call.echo(1)
  console.log(performance.now() - started)
  client.shutdown()
} else {
  const { createSyncFn } = await import("synckit")
  const echo = createSyncFn(fileURLToPath(new URL("./synckit-worker.ts", import.meta.url)), { tsRunner: "node" })
  echo(1)
  console.log(performance.now() - started)
}
