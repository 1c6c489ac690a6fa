import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "core",
          root: "packages/core",
          include: ["test/**/*.test.ts"],
          execArgv: ["--expose-gc"]
        }
      },
      {
        test: {
          name: "platform-node",
          root: "packages/platform-node",
          include: ["test/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000
        }
      },
      {
        test: {
          name: "redis-store",
          root: "packages/redis-store",
          include: ["test/**/*.test.ts"]
        }
      },
      {
        test: {
          name: "examples",
          root: "examples",
          include: ["**/*.test.ts"]
        }
      }
    ]
  }
})
