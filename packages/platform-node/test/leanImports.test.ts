/**
 * Cold start: what each side loads of Effect. The timings are in
 * bench/cold-start.ts; this keeps the module graphs behind them from growing back.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

/** Effect's modules that importing `specifier` loads, in a fresh process. */
const effectModulesOf = (specifier: string): Array<string> =>
  JSON.parse(
    execFileSync(process.execPath, [fileURLToPath(new URL("./fixtures/loaded-modules.ts", import.meta.url)), specifier], {
      encoding: "utf8"
    })
  )

describe("lean imports", () => {
  it("the calling side of ReactorThread does not load Effect's runtime, only what its errors need", () => {
    const modules = effectModulesOf("@crochet/platform-node/ReactorThread")
    expect(modules).toContain("Cause.js") // the hook sees Effect's modules: TimeoutError is Effect's
    expect(modules).not.toContain("Effect.js")
    expect(modules).not.toContain("Layer.js")
    expect(modules).not.toContain("Schema.js")
  })

  it("core's reactor does not load effect/Logger (it loads FileSystem and more)", () => {
    const modules = effectModulesOf("@crochet/core/Reactor")
    expect(modules).toContain("Layer.js")
    expect(modules).not.toContain("Logger.js")
    expect(modules).not.toContain("FileSystem.js")
  })
})
