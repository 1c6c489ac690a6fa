/**
 * Cold start: what each side loads of Effect. The timings are in
 * bench/cold-start.ts; this keeps the module graphs behind them from growing back.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const fixture = (name: string, ...args: Array<string>): string =>
  execFileSync(process.execPath, [fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), ...args], {
    encoding: "utf8"
  })

/** Effect's modules that importing `specifier` loads, in a fresh process. */
const effectModulesOf = (specifier: string): Array<string> => JSON.parse(fixture("loaded-modules.ts", specifier))

/** Effect's runtime, and the modules that load it. */
const runtime = ["internal/effect.js", "Cause.js", "Exit.js", "Effect.js", "Layer.js", "Schema.js"]

describe("lean imports", () => {
  it("the calling side of ReactorThread loads effect/Data of Effect, and a successful call loads no more", () => {
    const { called, failed, imported, sum, timeoutError } = JSON.parse(fixture("caller-modules.ts"))
    expect(imported).toContain("Data.js") // the hook sees Effect's modules
    for (const module of [...runtime, "Duration.js"]) expect(imported).not.toContain(module)
    expect(sum).toBe(10)
    expect(called).toEqual(imported)
    // The first failure loads what it needs, and the error is the class the user imports.
    expect(failed).toContain("Cause.js")
    expect(timeoutError).toBe(true)
  })

  it("the package's main entry (the README's import { ReactorThread }) loads effect/Data of Effect, not its runtime", () => {
    const modules = effectModulesOf("@crochet/platform-node")
    expect(modules).toContain("Data.js")
    for (const module of [...runtime, "Duration.js"]) expect(modules).not.toContain(module)
  })

  it("NodeReactor and MainThreadBridge from the main entry load their modules, and Effect's runtime, on first use", () => {
    const { afterImport, afterUse } = JSON.parse(fixture("barrel-modules.ts"))
    for (const module of runtime) expect(afterImport).not.toContain(module)
    expect(afterUse).toContain("Effect.js")
    expect(afterUse).toContain("Layer.js")
  })

  for (const module of ["Errors", "Bridge", "EncodedCause"]) {
    it(`core's ${module} loads effect/Data of Effect, not its runtime`, () => {
      const modules = effectModulesOf(`@crochet/core/${module}`)
      expect(modules).toContain("Data.js")
      for (const loaded of [...runtime, "Duration.js"]) expect(modules).not.toContain(loaded)
    })
  }

  it("core's reactor does not load effect/Logger (it loads FileSystem and more)", () => {
    const modules = effectModulesOf("@crochet/core/Reactor")
    expect(modules).toContain("Layer.js")
    expect(modules).not.toContain("Logger.js")
    expect(modules).not.toContain("FileSystem.js")
  })
})
