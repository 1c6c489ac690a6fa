import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// The repository's own tests run the packages' sources. Vite resolves `@crochet/*` through
// these aliases (by the packages' `exports` rules: `internal/*` stays private); child
// processes and worker threads through the resolve hook of scripts/sources.js, which this
// puts in NODE_OPTIONS (as the npm scripts do), so `npx vitest` alone runs the sources too.
// The consumer test checks the built packages.
const sources = new URL("./scripts/sources.js", import.meta.url).href
const options = (process.env["NODE_OPTIONS"] ?? "").split(/\s+/).filter((option) =>
  option !== "" && !/^--import=.*scripts\/sources\.js$/.test(option)
)
process.env["NODE_OPTIONS"] = [...options, `--import=${sources}`].join(" ")

// Node, not Vite, loads those sources (as it does in child processes and worker threads, and for
// users from dist/): one copy of each module whatever imports it, so that a module the package
// loads on first use with `require` (platform-node's main entry) is the very one a test imports.
const server = { deps: { external: [/\/packages\/[^/]+\/src\//] } }

const packages = fileURLToPath(new URL("./packages/", import.meta.url))
const resolve = {
  alias: [
    { find: /^@crochet\/(core|platform-node|redis-store)$/, replacement: `${packages}$1/src/index.ts` },
    {
      find: /^@crochet\/(core|platform-node|redis-store)\/(?!internal\/|index$|package\.json$)(.+)$/,
      replacement: `${packages}$1/src/$2.ts`
    }
  ]
}

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: "core",
          server,
          root: "packages/core",
          include: ["test/**/*.test.ts"],
          execArgv: ["--expose-gc"]
        }
      },
      {
        resolve,
        test: {
          name: "platform-node",
          server,
          root: "packages/platform-node",
          include: ["test/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        resolve,
        test: {
          name: "redis-store",
          server,
          root: "packages/redis-store",
          include: ["test/**/*.test.ts"],
          exclude: ["test/cluster*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      // The cluster suites time slot moves and failovers against the bounds the README promises: they run in a
      // group of their own, one file at a time, never alongside another file racing them for the CPU.
      {
        resolve,
        test: {
          name: "redis-store-cluster",
          server,
          root: "packages/redis-store",
          include: ["test/cluster*.test.ts"],
          sequence: { groupOrder: 1 },
          maxWorkers: 1,
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        resolve,
        test: {
          name: "examples",
          server,
          root: "examples",
          include: ["**/*.test.ts"],
          // Each test runs programs in child processes: on a loaded two-core CI machine, a
          // start alone can take seconds. (No test measures time against these bounds.)
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        test: {
          name: "packaging",
          root: "packaging",
          include: ["*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 240_000
        }
      }
    ]
  }
})
