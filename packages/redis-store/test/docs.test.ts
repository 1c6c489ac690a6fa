/**
 * Every `@example` in the package's doc comments type-checks (they need a
 * Redis on 127.0.0.1:6379 to run, so they are not run here; the tests next to
 * this one run the same calls against a real server).
 */
import { execFile } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("../../../", import.meta.url))
const src = fileURLToPath(new URL("../src/", import.meta.url))
const out = `${root}.vitest/redis-store-doc-examples/`

const examples = (): Array<string> => {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const files: Array<string> = []
  for (const name of readdirSync(src).filter((name) => name.endsWith(".ts")).sort()) {
    const text = readFileSync(src + name, "utf8")
    let n = 0
    for (const match of text.matchAll(/ \* ```ts\n([\s\S]*?) \* ```/g)) {
      const code = match[1]!.split("\n").map((line) => line.replace(/^ \* ?/, "")).join("\n")
      const file = `${out}${name.replace(/\.ts$/, "")}-${++n}.ts`
      writeFileSync(file, `${code}\nexport {}\n`)
      files.push(file)
    }
  }
  return files
}

it("every doc comment example type-checks", async () => {
  const files = examples()
  expect(files.length).toBeGreaterThanOrEqual(8)
  writeFileSync(`${out}tsconfig.json`, JSON.stringify({
    extends: `${root}tsconfig.base.json`,
    compilerOptions: { noEmit: true, composite: false, declaration: false, emitDeclarationOnly: false, rootDir: root },
    files
  }))
  const tsc = `${root}node_modules/typescript/bin/tsc`
  const result = await run(process.execPath, [tsc, "-p", `${out}tsconfig.json`]).then(
    () => "",
    (error: { stdout: string; stderr: string }) => error.stdout + error.stderr
  )
  expect(result).toBe("")
}, 60_000)
