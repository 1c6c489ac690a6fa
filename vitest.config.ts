import { defineConfig } from "vitest/config"

// The repository's own tests run the packages' sources: `@crochet/*` resolves through the
// `@crochet/source` export condition (child processes and worker threads get it from the
// NODE_OPTIONS that `npm test` sets). The consumer test checks the built packages.
const ssr = { resolve: { conditions: ["@crochet/source"] } }
// ...and Node loads those sources itself, as it does in child processes and worker threads (and
// for users, from dist/): one copy of each module whatever imports it, so that a module the
// package loads on first use with `require` (platform-node's main entry) is the very one a
// test imports.
const server = { deps: { external: [/\/packages\/[^/]+\/src\//] } }

export default defineConfig({
  test: {
    projects: [
      {
        ssr,
        test: {
          name: "core",
          server,
          root: "packages/core",
          include: ["test/**/*.test.ts"],
          execArgv: ["--expose-gc"]
        }
      },
      {
        ssr,
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
        ssr,
        test: {
          name: "redis-store",
          server,
          root: "packages/redis-store",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        ssr,
        test: {
          name: "examples",
          server,
          root: "examples",
          include: ["**/*.test.ts"]
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
