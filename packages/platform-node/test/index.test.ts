/**
 * The package's main entry loads NodeReactor and MainThreadBridge on first
 * use (see `internal/onFirstUse.ts`): it must export every function of
 * theirs, and call the very functions.
 */
import * as Package from "@crochet/platform-node"
import { describe, expect, it } from "vitest"
import * as MainThreadBridge from "../src/MainThreadBridge.ts"
import * as NodeReactor from "../src/NodeReactor.ts"

const functionsOf = (module: object) =>
  Object.entries(module).filter(([, value]) => typeof value === "function").map(([name]) => name).sort()

describe("the main entry's NodeReactor and MainThreadBridge", () => {
  it.each(
    [
      ["NodeReactor", Package.NodeReactor, NodeReactor],
      ["MainThreadBridge", Package.MainThreadBridge, MainThreadBridge]
    ] as const
  )("%s: every function of the module, and nothing else", (_, exported, module) => {
    expect(functionsOf(exported)).toEqual(functionsOf(module))
    expect(Object.keys(exported).sort()).toEqual(functionsOf(module))
  })
})
