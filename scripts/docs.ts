/**
 * `npm run docs`: writes the API reference, docs/api/, from the doc comments of
 * packages/<name>/src with @effect/docgen (installed apart, in tools/docgen, with the
 * TypeScript 5 it needs; it type-checks every example with this repository's
 * TypeScript 7). One Markdown page per public module, browsable on GitHub, and
 * docs/api/README.md, the entry page. `node scripts/docs.ts --check` writes nothing
 * and fails, naming the pages, when docs/api is not what the sources give (npm test
 * runs it). Needs the packages built (`npm run docs` builds them first): the examples
 * import `@crochet/*` as a user would, through their declarations.
 */
import { execFile } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))
const api = `${root}docs/api/`
const docgen = `${root}tools/docgen/node_modules/.bin/docgen`
const repository = "https://github.com/crochet-effect/crochet-effect/blob/main/"

interface Package {
  readonly dir: string
  readonly name: string
  readonly description: string
}

const packages: ReadonlyArray<Package> = ["core", "platform-node", "redis-store"].map((dir) => {
  const { description, name } = JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, "utf8"))
  return { dir, name, description }
})

/** Runs docgen for one package (its docgen.json writes to .docgen/<dir>); resolves with the module pages. */
const generate = async (pkg: Package): Promise<Map<string, string>> => {
  const out = `${root}.docgen/${pkg.dir}/`
  rmSync(out, { recursive: true, force: true })
  const { NODE_OPTIONS: _, ...env } = process.env
  await promisify(execFile)(docgen, [], {
    cwd: `${root}packages/${pkg.dir}`,
    // `tsc` on the PATH, for the examples, is this repository's.
    env: { ...env, PATH: `${root}node_modules/.bin:${env["PATH"]}`, NO_COLOR: "1" },
    maxBuffer: 64 * 1024 * 1024
  }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`docgen failed for ${pkg.name}:\n${error.stderr || error.stdout || error.message}`)
  })
  const pages = new Map<string, string>()
  for (const file of readdirSync(`${out}modules`).filter((file) => file.endsWith(".ts.md")).sort()) {
    pages.set(file.replace(/\.ts\.md$/, ""), readFileSync(`${out}modules/${file}`, "utf8"))
  }
  return pages
}

/** docgen's Jekyll page, as a page that reads well on GitHub: a title, no front matter, links without line numbers. */
const page = (pkg: Package, module: string, text: string): string => {
  const title = module === "index" ? pkg.name : `${pkg.name}/${module}`
  const body = text
    .replace(/^---\n[\s\S]*?\n---\n+/, "")
    .replace(/^## \S+ overview\n/, "")
    .replace(/(\[Source\]\([^)#]+)#L\d+\)/g, "$1)")
    // The main entry re-exports some modules through facades that load them on first use
    // (internal/lazyX.ts): a reader meets the module itself, and its page.
    .replace(
      /Re-exports all named exports from the "\.\/internal\/lazy(\w+)\.ts" module as `\1`\./g,
      "Re-exports all named exports from the [\"./$1.ts\"]($1.md) module as `$1` (loaded on first use)."
    )
    .replace(/from "\.\/internal\/lazy(\w+)\.ts"/g, "from \"./$1.ts\"")
  return `# ${title}\n\n[API reference](../README.md) · [${pkg.name}](${repository}packages/${pkg.dir}#readme)\n\n${body.trim()}\n`
}

/** The first sentence of a module's own doc comment, for the entry page. */
const summary = (pkg: Package, module: string): string => {
  const source = readFileSync(`${root}packages/${pkg.dir}/src/${module}.ts`, "utf8")
  const comment = source.match(/^\/\*\*\n([\s\S]*?)\*\//)?.[1] ?? ""
  const text = comment.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join(" ").replace(/\s+/g, " ")
  const sentence = (text.match(/^.*?\.(?=\s|$)/)?.[0] ?? text).replace(/^@crochet\/[\w-]+: /, "").trim()
  return (sentence[0]!.toUpperCase() + sentence.slice(1)).replace(/\{@link (\w+)\}/g, "`$1`")
}

const entryPage = (modules: ReadonlyMap<Package, ReadonlyMap<string, string>>): string => {
  const lines = [
    "# API reference",
    "",
    "Every public module of the three packages, generated from the doc comments of their sources by",
    "[`@effect/docgen`](https://github.com/Effect-TS/docgen), the tool Effect's own reference is made with: each",
    "export with its signature, every option of its options interface, and its example (every example is",
    "type-checked, and run where it can run, by `npm test`). Regenerate with `npm run docs`; `npm test` fails",
    "while this folder is not what the sources give. We chose docgen over TypeDoc because it is what the Effect",
    "ecosystem uses (the same `@since`/`@category` tags, grouped by category, one page per module as a user",
    "imports it) and because it compiles every `@example`; TypeDoc renders richer HTML but checks no example.",
    ""
  ]
  for (const [pkg, pages] of modules) {
    lines.push(`## ${pkg.name}`, "", pkg.description, "", "| module | |", "|---|---|")
    // The package's main entry first, then its modules.
    for (const module of [...pages.keys()].sort((a, b) => Number(b === "index") - Number(a === "index"))) {
      const importPath = module === "index" ? pkg.name : `${pkg.name}/${module}`
      lines.push(`| [\`${importPath}\`](${pkg.dir}/${module}.md) | ${summary(pkg, module).replaceAll("|", "\\|")} |`)
    }
    lines.push("")
  }
  return lines.join("\n")
}

/** Every page of docs/api, by its path under docs/api. */
const render = async (): Promise<Map<string, string>> => {
  const generated = new Map(await Promise.all(packages.map(async (pkg) => [pkg, await generate(pkg)] as const)))
  const files = new Map<string, string>([["README.md", entryPage(generated)]])
  for (const [pkg, pages] of generated) {
    for (const [module, text] of pages) files.set(`${pkg.dir}/${module}.md`, page(pkg, module, text))
  }
  return files
}

const existing = (): Map<string, string> => {
  const files = new Map<string, string>()
  const walk = (dir: string) => {
    for (const entry of readdirSync(api + dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${dir}${entry.name}/`)
      else files.set(dir + entry.name, readFileSync(`${api}${dir}${entry.name}`, "utf8"))
    }
  }
  mkdirSync(api, { recursive: true })
  walk("")
  return files
}

const files = await render()
const before = existing()
const changed = [...new Set([...files.keys(), ...before.keys()])].filter((file) => files.get(file) !== before.get(file))
  .sort()

if (process.argv.includes("--check")) {
  if (changed.length > 0) {
    console.error(`docs/api is out of date (run npm run docs): ${changed.join(", ")}`)
    process.exit(1)
  }
  console.log("docs/api is up to date")
} else {
  for (const file of changed) {
    const text = files.get(file)
    if (text === undefined) rmSync(api + file)
    else {
      mkdirSync(`${api}${file.slice(0, file.lastIndexOf("/") + 1)}`, { recursive: true })
      writeFileSync(api + file, text)
    }
  }
  console.log(`docs/api: ${changed.length} page(s) written or removed, ${files.size} in all`)
}
