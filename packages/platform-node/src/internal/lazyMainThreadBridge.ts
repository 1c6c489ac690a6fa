/**
 * `MainThreadBridge` as the package's main entry exports it: the same
 * functions, loading `MainThreadBridge.ts` (core's reactor, Effect's runtime)
 * on first use. Its types are re-exported as they are; `index.test.ts` checks
 * that every function of `MainThreadBridge.ts` is here.
 */
import type * as MainThreadBridge from "../MainThreadBridge.ts"
import { onFirstUse } from "./onFirstUse.ts"

export type * from "../MainThreadBridge.ts"

const load = onFirstUse<typeof MainThreadBridge>("MainThreadBridge")

export const serve: typeof MainThreadBridge.serve = (reactor, operations, options) =>
  load().serve(reactor, operations, options)

export const make: typeof MainThreadBridge.make = (operations, options) => load().make(operations, options)

export const connect: typeof MainThreadBridge.connect = (endpoint, options) => load().connect(endpoint, options)
