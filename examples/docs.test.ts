/**
 * Keeps the guides in docs/ and the README honest: every ```ts snippet
 * type-checks, and every snippet not marked `ts no-run` runs to completion
 * with exit code 0, or the code its fence names (`ts exit-code=143`: a
 * program that shows what a signal does by sending itself one). README
 * snippets that are not whole programs are marked `ts fragment` (and said to
 * be one); they are not checked.
 * Snippets are written to .vitest/doc-snippets/ (git-ignored), as if they sat
 * in docs/, so `../examples/...` imports resolve as they do for a reader.
 */
import { execFile } from "node:child_process"
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { typeCheck } from "../scripts/typeCheck.ts"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))
const docs = `${root}docs/`
const out = `${root}.vitest/doc-snippets/`
const examples = `${root}examples/`

interface Snippet {
  readonly file: string
  readonly runs: boolean
  readonly exitCode: number
}

const extract = (): Array<Snippet> => {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const snippets: Array<Snippet> = []
  const guides = readdirSync(docs).filter((name) => name.endsWith(".md")).sort().map((name) => docs + name)
  for (const path of [...guides, `${root}README.md`]) {
    const doc = path.slice(path.lastIndexOf("/") + 1)
    const text = readFileSync(path, "utf8")
    let n = 0
    for (const match of text.matchAll(/```ts( no-run| exit-code=(\d+))?\n([\s\S]*?)```/g)) {
      const file = `${out}${doc.replace(/\.md$/, "")}-${++n}.ts`
      // `export {}` makes each snippet a module (top-level await, no shared globals).
      writeFileSync(file, match[3]!.replaceAll("../examples/", examples) + "\nexport {}\n")
      snippets.push({ file, runs: match[1] !== " no-run", exitCode: Number(match[2] ?? 0) })
    }
  }
  return snippets
}

const snippets = extract()

describe("docs/*.md snippets", () => {
  it("there are snippets to check", () => {
    expect(snippets.length).toBeGreaterThan(10)
  })

  it("type-check", async () => {
    expect(await typeCheck(out, snippets.map((snippet) => snippet.file))).toBe("")
  }, 60_000)

  for (const snippet of snippets.filter((snippet) => snippet.runs)) {
    const name = snippet.file.slice(out.length)
    it(`${name} runs and exits ${snippet.exitCode}`, async () => {
      // A run that takes more than 20 s is killed: its error has no exit code, and is thrown.
      const exitCode = await run(process.execPath, [snippet.file], { timeout: 20_000 }).then(
        () => 0,
        (error: { code?: unknown }) => {
          if (typeof error.code !== "number") throw error
          return error.code
        }
      )
      expect(exitCode).toBe(snippet.exitCode)
    }, 30_000)
  }
})

describe("README.md", () => {
  const readme = readFileSync(`${root}README.md`, "utf8")

  it("its first snippets are whole programs (checked above)", () => {
    const first = [...readme.matchAll(/```ts([^\n]*)\n/g)].slice(0, 2).map((match) => match[1])
    expect(first).toEqual(["", " no-run"])
  })

  it("every snippet that is not a whole program is marked `ts fragment` and introduced as one", () => {
    for (const match of readme.matchAll(/```ts([^\n]*)\n/g)) {
      expect(["", " no-run", " fragment"]).toContain(match[1])
      if (match[1] !== " fragment") continue
      const before = readme.slice(0, match.index).trimEnd()
      const paragraph = before.slice(before.lastIndexOf("\n\n"))
      expect(paragraph, `the text before snippet at offset ${match.index}`).toMatch(/fragment/i)
    }
  })
})

describe("the lists of examples", () => {
  const entries = readdirSync(examples, { withFileTypes: true })
  const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name)
  // Every module is listed, except the tests of a program (x.test.ts or x-more.test.ts next to
  // x.ts) and this file.
  const programs = files.filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
  const testsAProgram = (name: string) =>
    name.endsWith(".test.ts") &&
    programs.some((program) => {
      const base = program.replace(/\.ts$/, "")
      return name === `${base}.test.ts` || name.startsWith(`${base}-`)
    })
  const listed = files.filter((name) => name.endsWith(".ts") && name !== "docs.test.ts" && !testsAProgram(name)).sort()
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => `${entry.name}/`).sort()

  it("README's \"Examples and guides\" names every example module and folder, and nothing else", () => {
    const readme = readFileSync(`${root}README.md`, "utf8")
    const section = readme.slice(readme.indexOf("## Examples and guides"), readme.indexOf("Guides:"))
    const named = [...new Set([...section.matchAll(/`([\w.-]+\.ts|[\w-]+\/)`/g)].map((match) => match[1]!))]
      .filter((name) => name !== "examples/").sort()
    expect(named).toEqual([...listed, ...folders].sort())
  })

  it("docs/examples.md links every example module, and nothing else", () => {
    const text = readFileSync(`${docs}examples.md`, "utf8")
    const linked = [...new Set([...text.matchAll(/\]\(\.\.\/examples\/([\w.-]+\.ts)\)/g)].map((match) => match[1]!))]
      .sort()
    expect(linked).toEqual(listed)
  })
})

describe("docs/api, the API reference", () => {
  it("is what `npm run docs` makes of the sources (docgen also type-checks every example)", async () => {
    // Rejects (failing the test) when a page differs, naming the pages: run `npm run docs`.
    await run(process.execPath, [`${root}scripts/docs.ts`, "--check"], { timeout: 300_000 })
  }, 320_000)
})

/**
 * Every export of the packages has a doc comment with an example (` * ```ts ... * ``` `):
 * each one must type-check as a module of its own, like a reader would paste it, and
 * each one not marked ```` ```ts no-run ```` (a server that listens, a Redis it needs)
 * must run to completion. The modules the platform-node examples call (`./dns.reactor.ts`,
 * `./render.ts`…: the reactor modules shown in its module overviews) sit beside them, as
 * in a user's project.
 */
describe("doc comment examples of packages/*/src", () => {
  const commentsOut = `${root}.vitest/doc-comment-examples/`
  const collect = (): Array<Snippet> => {
    rmSync(commentsOut, { recursive: true, force: true })
    mkdirSync(commentsOut, { recursive: true })
    cpSync(`${examples}threads/`, commentsOut, { recursive: true })
    const snippets: Array<Snippet> = []
    for (const pkg of readdirSync(`${root}packages`).sort()) {
      const src = `${root}packages/${pkg}/src/`
      for (const name of readdirSync(src).filter((name) => name.endsWith(".ts")).sort()) {
        const text = readFileSync(src + name, "utf8")
        let n = 0
        for (const match of text.matchAll(/ \* ```ts( no-run)?\n([\s\S]*?) \* ```/g)) {
          const code = match[2]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n")
          const file = `${commentsOut}${pkg}-${name.replace(/\.ts$/, "")}-${++n}.ts`
          writeFileSync(file, `${code}\nexport {}\n`)
          snippets.push({ file, runs: match[1] === undefined, exitCode: 0 })
        }
      }
    }
    return snippets
  }
  const comments = collect()

  it("type-check", async () => {
    expect(comments.length).toBeGreaterThan(50)
    expect(await typeCheck(commentsOut, comments.map((snippet) => snippet.file))).toBe("")
  }, 60_000)

  // Two at a time: many wait on a timer or a thread start, not on the CPU.
  let running = 0
  const queue: Array<() => void> = []
  const inTurn = async <A>(task: () => Promise<A>): Promise<A> => {
    if (running >= 2) await new Promise<void>((resolve) => queue.push(resolve))
    running++
    try {
      return await task()
    } finally {
      running--
      queue.shift()?.()
    }
  }
  for (const snippet of comments.filter((snippet) => snippet.runs)) {
    it.concurrent(`${snippet.file.slice(commentsOut.length)} runs and exits 0`, async () => {
      await inTurn(() => run(process.execPath, [snippet.file], { timeout: 20_000 }))
    }, 120_000)
  }
})
