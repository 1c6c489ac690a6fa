import { ESLint } from "eslint"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import plugin, { glossary } from "./plugin.ts"

const here = fileURLToPath(new URL(".", import.meta.url))
const config = [{ files: ["**/*.js"], plugins: { glossary: plugin }, rules: { "glossary/terms": "error" as const } }]

it("ESLint runs the rule: each string literal is checked by the Effect service, synchronously", async () => {
  const eslint = new ESLint({ cwd: here, overrideConfigFile: true, overrideConfig: config })
  const [result] = await eslint.lintFiles(["sample/signup.js"])
  expect(result!.messages.map(({ column, line, message, ruleId }) => ({ line, column, ruleId, message }))).toEqual([
    { line: 1, column: 21, ruleId: "glossary/terms", message: "Say \"allowlist\" instead of \"whitelist\"." },
    { line: 1, column: 21, ruleId: "glossary/terms", message: "Say \"email\" instead of \"e-mail\"." },
    { line: 2, column: 28, ruleId: "glossary/terms", message: "Say \"placeholder value\" instead of \"dummy value\"." }
  ])
  const [clean] = await eslint.lintText("const title = \"Add to the allowlist\"\nconst n = 1\n")
  expect(clean!.messages).toEqual([])
})

it("the rule's check is a plain synchronous call into the reactor thread", () => {
  // Plain synchronous calls, as the rule makes them.
  expect(glossary.call.check("put it on the BLACKLIST")).toEqual([{ term: "blacklist", instead: "denylist" }])
  expect(glossary.call.check("nothing here")).toEqual([])
})

/** Runs the eslint CLI on the samples; execFile rejects on a non-zero exit and kills the process after 20 s. */
const eslintCli = (...args: Array<string>) =>
  promisify(execFile)(
    process.execPath,
    [
      fileURLToPath(new URL("../../node_modules/eslint/bin/eslint.js", import.meta.url)),
      "-c",
      "eslint.config.js",
      ...args
    ],
    { cwd: here, timeout: 20_000 }
  ).then(() => undefined, (error: { code: number; killed: boolean; stdout: string }) => error)

it(
  "the eslint CLI with the plugin: reports, exits 1, and the reactor thread does not keep ESLint's process alive",
  async () => {
    const failure = await eslintCli("sample")
    expect(failure?.killed).toBe(false)
    expect(failure?.code).toBe(1) // problems found
    expect(failure?.stdout).toContain("✖ 4 problems (4 errors, 0 warnings)")
    expect(failure?.stdout).toMatch(/2:28 +error +Say "placeholder value" instead of "dummy value" +glossary\/terms/)
  },
  30_000
)

it(
  "eslint --concurrency 2: each ESLint worker thread loads the plugin and gets its own reactor thread; the run ends",
  async () => {
    const failure = await eslintCli("--concurrency", "2", "sample")
    expect(failure?.killed).toBe(false)
    expect(failure?.code).toBe(1)
    expect(failure?.stdout).toContain("✖ 4 problems (4 errors, 0 warnings)")
    expect(failure?.stdout).toMatch(/2:12 +error +Say "denylist" instead of "blacklist" +glossary\/terms/)
  },
  30_000
)
