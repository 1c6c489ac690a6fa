/**
 * The packages as a user gets them: `npm pack` the three packages, install the
 * tarballs into a new project outside the repository (no workspace links; the
 * peers from the registry at the lock file's versions), and use them there —
 * from plain JavaScript, CommonJS, strict TypeScript, both thread bridges, a
 * vitest file, and under Bun and Deno.
 */
import { execFile } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))
const fixtures = fileURLToPath(new URL("fixtures/", import.meta.url))
const bin = (name: string) => join(root, "node_modules", ".bin", name)

// The repository's own NODE_OPTIONS point `@crochet/*` at sources the tarballs do not have.
const { NODE_OPTIONS: _, ...cleanEnv } = process.env
const env = { ...cleanEnv, NO_COLOR: "1" }

/** Runs a command in the consumer project; resolves with its stdout, rejects with its output. */
const run = async (dir: string, command: string, args: ReadonlyArray<string>, timeout = 60_000): Promise<string> => {
  try {
    const { stdout } = await exec(command, args, { cwd: dir, env, timeout, maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const { stdout = "", stderr = "", message } = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(" ")} failed: ${message}\n${stdout}\n${stderr}`, { cause: error })
  }
}

interface PackResult {
  readonly name: string
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

const lockVersion = (name: string): string => {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"))
  const version = lock.packages[`node_modules/${name}`]?.version
  if (typeof version !== "string") throw new Error(`${name} is not in package-lock.json`)
  return `${name}@${version}`
}

/** The README's testing example, exactly as printed there. */
const readmeTestingExample = (): string => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const section = readme.split("\n## Testing code built on the toolkit\n")[1]
  const snippet = section?.match(/```ts[^\n]*\n([\s\S]*?)```/)?.[1]
  if (snippet === undefined) {
    throw new Error("README.md has no ```ts snippet under \"## Testing code built on the toolkit\"")
  }
  return snippet
}

/** The first ```js snippet of a README: the example a user copies after the install line. */
const readmeFirstExample = (readme: string): string => {
  const snippet = readFileSync(join(root, readme), "utf8").match(/```js\n([\s\S]*?)```/)?.[1]
  if (snippet === undefined) throw new Error(`${readme} has no \`\`\`js snippet`)
  return snippet
}

let dir: string
let packed: ReadonlyArray<PackResult>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "crochet-consumer-"))
  const workspaces = ["packages/core", "packages/platform-node", "packages/redis-store"]
  // prepack builds each package (tsc -b), so the tarballs hold a fresh build.
  packed = JSON.parse(
    await run(root, "npm", ["pack", "--json", "--pack-destination", dir, ...workspaces.map((w) => `--workspace=${w}`)])
  )
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  cpSync(fixtures, dir, { recursive: true })
  writeFileSync(join(dir, "readme.test.ts"), readmeTestingExample())
  writeFileSync(join(dir, "readme-root.mjs"), readmeFirstExample("README.md"))
  writeFileSync(join(dir, "readme-core.mjs"), readmeFirstExample("packages/core/README.md"))
  await run(dir, "npm", [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    ...packed.map((p) => join(dir, p.filename)),
    ...["effect", "@effect/platform-node", "redis", "@types/node", "vitest", "@effect/vitest"].map(lockVersion)
  ], 120_000)
}, 180_000)

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe("the packed packages, installed in a project outside the repository", () => {
  it("tarballs hold compiled JavaScript, declarations, README, CHANGELOG and LICENSE; no sources, tests or tsconfig", () => {
    expect(packed.map((p) => p.name)).toEqual(["@crochet/core", "@crochet/platform-node", "@crochet/redis-store"])
    for (const p of packed) {
      const files = p.files.map((f) => f.path)
      console.log(
        `${p.filename}: ${(p.size / 1024).toFixed(1)} kB packed, ${
          (p.unpackedSize / 1024).toFixed(1)
        } kB unpacked, ${files.length} files`
      )
      expect(files).toEqual(
        expect.arrayContaining([
          "package.json",
          "README.md",
          "CHANGELOG.md",
          "LICENSE",
          "dist/index.js",
          "dist/index.d.ts"
        ])
      )
      expect(
        files.filter((f) => !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+\.(js|js\.map|d\.ts))$/.test(f))
      ).toEqual([])
      expect(files.filter((f) => f.includes("test") || f.endsWith("tsconfig.json"))).toEqual([])
    }
  })

  it("publint finds nothing to report in each tarball, warnings counted as errors", async () => {
    for (const p of packed) {
      const output = await run(dir, bin("publint"), ["run", join(dir, p.filename), "--strict"])
      expect(output, p.name).toContain("All good!")
    }
  })

  it("@arethetypeswrong/cli finds no problem in any entry point, as ES modules only (as effect is)", async () => {
    // The esm-only profile leaves out the CommonJS resolutions (node10, node16 from CJS): the packages
    // are ES modules, which CommonJS reaches with require() on Node 22.12 and later. Every module is
    // listed, since attw does not follow the "./*" pattern by itself.
    for (const p of packed) {
      const modules = p.files.map((f) => f.path.match(/^dist\/(\w+)\.js$/)?.[1]).filter((m) =>
        m !== undefined && m !== "index"
      )
      await run(dir, bin("attw"), [
        join(dir, p.filename),
        "--profile",
        "esm-only",
        "--format",
        "ascii",
        "--include-entrypoints",
        ...modules.map((m) => `./${m}`)
      ])
    }
  })

  it("a plain JavaScript ES module program runs (value, traced failure, timeout, shutdown)", async () => {
    expect(await run(dir, process.execPath, ["program.mjs"])).toContain("program: ok")
  })

  it("the first example of the README and of @crochet/core's README runs as printed", async () => {
    expect(await run(dir, process.execPath, ["readme-root.mjs"])).toBe("Hello, Ada!\n")
    expect(await run(dir, process.execPath, ["readme-core.mjs"])).toBe("Hello, Ada!\n")
  })

  it("a CommonJS file can require() the packages", async () => {
    expect(await run(dir, process.execPath, ["require.cjs"])).toContain("require: ok")
  })

  it("a strict TypeScript project type-checks against them, with nodenext and with bundler resolution", async () => {
    const strict = {
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      target: "es2024",
      types: ["node"],
      skipLibCheck: false
    }
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    for (
      const [name, resolution] of [["nodenext", { module: "nodenext", moduleResolution: "nodenext" }], [
        "bundler",
        { module: "preserve", moduleResolution: "bundler" }
      ]] as const
    ) {
      writeFileSync(
        join(dir, `tsconfig.${name}.json`),
        JSON.stringify({ compilerOptions: { ...strict, ...resolution }, files: ["strict.ts"] })
      )
      await run(dir, process.execPath, [tsc, "-p", `tsconfig.${name}.json`])
    }
  })

  it("a ReactorThread with a plain .js reactor module, a MainThreadBridge worker, and a caller importing only ReactorThread run", async () => {
    expect(await run(dir, process.execPath, ["threads.mjs"])).toContain("threads: ok")
    expect(await run(dir, process.execPath, ["lean-caller.mjs"])).toContain("lean caller: ok")
  })

  it("the README's testing example passes under @effect/vitest", async () => {
    const output = await run(dir, process.execPath, [
      join("node_modules", "vitest", "vitest.mjs"),
      "run",
      "readme.test.ts"
    ])
    expect(output).toMatch(/Tests\s+2 passed/)
  })

  it("a missing worker entry module fails the first call at once, naming the module and the reason", async () => {
    const internal = join(dir, "node_modules", "@crochet", "platform-node", "dist", "internal")
    for (
      const [file, expected] of [
        ["supervisor.js", /supervisor module .*supervisor\.js is missing/],
        ["reactorWorker.js", /reactor thread module .*reactorWorker\.js is missing/],
        ["reactorMain.js", /Cannot find module .*reactorMain\.js/]
      ] as const
    ) {
      renameSync(join(internal, file), join(internal, `${file}.away`))
      try {
        expect(await run(dir, process.execPath, ["broken-install.mjs"])).toMatch(expected)
      } finally {
        renameSync(join(internal, `${file}.away`), join(internal, file))
      }
    }
  })

  for (const runtime of ["bun", "deno"] as const) {
    it(`${runtime} runs the program and both thread bridges, also from a caller importing only ReactorThread`, async () => {
      const args = (file: string) => runtime === "bun" ? [file] : ["run", "--allow-all", file]
      expect(await run(dir, bin(runtime), args("program.mjs"))).toContain("program: ok")
      expect(await run(dir, bin(runtime), args("threads.mjs"))).toContain("threads: ok")
      expect(await run(dir, bin(runtime), args("lean-caller.mjs"))).toContain("lean caller: ok")
    })
  }
})
