/**
 * The move from synckit to ReactorThread (docs/plugins.md, "From synckit"):
 * the same rule, on each bridge, gives the same reports, the formatter's
 * SyntaxError included; the JavaScript type-checks with its JSDoc; and the
 * guide shows these files as they are.
 */
import { ESLint } from "eslint"
import { execFile } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const here = fileURLToPath(new URL(".", import.meta.url))
const root = fileURLToPath(new URL("../../../", import.meta.url))

/** A plugin of this folder (plain JavaScript: loaded by URL, typed here). */
const load = (name: string): Promise<ESLint.Plugin> =>
  import(new URL(name, import.meta.url).href).then((module: { readonly default: ESLint.Plugin }) => module.default)
const synckitPlugin = await load("./synckit-plugin.js")
const reactorThreadPlugin = await load("./plugin.js")

const reportsOf = async (plugin: ESLint.Plugin, text: string) => {
  const eslint = new ESLint({
    overrideConfigFile: true,
    overrideConfig: [{ files: ["**/*.js"], plugins: { formatting: plugin }, rules: { "formatting/format": "error" } }]
  })
  const [result] = await eslint.lintText(text, { filePath: "sample.js" })
  return result!.messages.map(({ column, line, message, ruleId }) => ({ line, column, ruleId, message }))
}

describe("from synckit to ReactorThread", () => {
  it.each([
    ["a formatted file", "const greeting = \"hello\"\n", []],
    ["trailing spaces", "const greeting = \"hello\"   \n", [
      { line: 1, column: 1, ruleId: "formatting/format", message: "Run the formatter: this file is not formatted." }
    ]],
    [
      "syntax the formatter cannot read: its SyntaxError, class and loc kept, is reported where it points",
      "const a = 1\nconst b = a ?? 2\n",
      [
        { line: 2, column: 14, ruleId: "formatting/format", message: "Parsing error: Unexpected token ? (2:14)" }
      ]
    ]
  ])("%s: the same reports on both bridges", async (_, text, expected) => {
    expect(await reportsOf(synckitPlugin, text)).toEqual(expected)
    expect(await reportsOf(reactorThreadPlugin, text)).toEqual(expected)
  })

  it("the JavaScript type-checks with its JSDoc (checkJs)", async () => {
    const out = `${root}.vitest/from-synckit-checkjs/`
    mkdirSync(out, { recursive: true })
    writeFileSync(
      `${out}tsconfig.json`,
      JSON.stringify({
        extends: `${root}tsconfig.base.json`,
        compilerOptions: { noEmit: true, composite: false, allowJs: true, checkJs: true, rootDir: root },
        files: ["format.js", "rule.js", "synckit-worker.js", "synckit-plugin.js", "format.reactor.js", "plugin.js"].map(
          (name) => `${here}${name}`
        )
      })
    )
    const complaints = await promisify(execFile)(process.execPath, [
      `${root}node_modules/typescript/bin/tsc`,
      "-p",
      `${out}tsconfig.json`
    ])
      .then(() => "", (error: { stdout: string }) => error.stdout)
    expect(complaints).toBe("")
  }, 60_000)

  it("docs/plugins.md shows the files of the move as they are", () => {
    const guide = readFileSync(`${root}docs/plugins.md`, "utf8")
    const shown = [...guide.matchAll(/```js\n\/\/ examples\/eslint-rule\/from-synckit\/([\w.-]+)\n([\s\S]*?)```/g)]
    expect(shown.map(([, name]) => name)).toEqual([
      "synckit-worker.js",
      "format.reactor.js",
      "synckit-plugin.js",
      "plugin.js"
    ])
    for (const [, name, text] of shown) expect(text, name).toBe(readFileSync(`${here}${name}`, "utf8"))
  })
})
