/**
 * The Redis result store: its presence (token, subscription, keeper), the
 * owner's side (stash, publish) and the retriever's side (claim, wait), on
 * one connection. See `scripts.ts` for what it keeps in Redis.
 */
import type { ResultStore } from "@crochet/core"
import type { Connection } from "./connection.ts"
import { Owner } from "./owner.ts"
import { Presence } from "./presence.ts"
import { Retriever } from "./retriever.ts"
import type { StoreSettings } from "./settings.ts"

export const makeStore = (
  connection: Connection,
  settings: StoreSettings
): ResultStore.ResultStore & { readonly close: () => Promise<void> } => {
  const presence = new Presence(connection, settings)
  const owner = new Owner(connection, presence, settings)
  const retriever = new Retriever(connection, presence, settings)
  presence.roles = [owner, retriever]
  return {
    stash: (result, runner) => owner.stash(result, runner),
    retrieve: (id, runner) => runner.runInReactor(retriever.await(id)),
    takeUnretrieved: () => owner.takeUnretrieved(),
    // Publishes under way land first: a store closed right after its results reached their retrievers logs nothing.
    close: () => owner.close().then(() => connection.close())
  }
}
