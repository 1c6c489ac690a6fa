/**
 * The reactor module of examples/blocking-dns.ts: it runs in a background
 * thread (ReactorThread), where `@effect/platform-node`'s `Dns` service is
 * built once, and serves one operation, `gethostbyname`.
 */
import { ReactorThread } from "@crochet/platform-node"
import * as NodeDns from "@effect/platform-node/NodeDns"
import * as Effect from "effect/Effect"
import * as Dns from "effect/net/Dns"
import * as NetAddress from "effect/net/NetAddress"

export default ReactorThread.define({
  layer: NodeDns.layer,
  operations: {
    /** The first address of `name`, in the system resolver's order (the hosts file included). */
    gethostbyname: Effect.fn("gethostbyname")(function*(name: string) {
      const dns = yield* Dns.Dns
      const addresses = yield* dns.lookup(name)
      return NetAddress.formatIp(addresses[0])
    })
  }
})
