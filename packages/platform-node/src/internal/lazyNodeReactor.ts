/**
 * `NodeReactor` as the package's main entry exports it: the same functions,
 * loading `NodeReactor.ts` (core's reactor, Effect's runtime) on first use.
 * Its types are re-exported as they are; `index.test.ts` checks that every
 * function of `NodeReactor.ts` is here.
 */
import type * as NodeReactor from "../NodeReactor.ts"
import { onFirstUse } from "./onFirstUse.ts"

export type * from "../NodeReactor.ts"

const load = onFirstUse<typeof NodeReactor>("NodeReactor")

export const setup: typeof NodeReactor.setup = (layer, options) => load().setup(layer, options)

export const shutdownAll: typeof NodeReactor.shutdownAll = () => load().shutdownAll()
