import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"

const run = promisify(execFile)

it("npm start: quickstart.ts shows waitFor, a timeout, a traced failure and a clean shutdown", async () => {
  const script = fileURLToPath(new URL("./quickstart.ts", import.meta.url))
  const { stdout } = await run(process.execPath, [script], { timeout: 30_000 })
  expect(stdout).toContain("1. waitFor: Hello, Ada!")
  expect(stdout).toContain("2. wait timed out: true - the work goes on")
  expect(stdout).toContain("3. waited again: slow result")
  expect(stdout).toContain("4. failure: UserNotFound id 42")
  expect(stdout).toMatch(/at findUser \(.*quickstart\.ts/)
  expect(stdout).toMatch(/at async main \(.*quickstart\.ts/)
  expect(stdout).toContain("5. shut down: stopped")
})
