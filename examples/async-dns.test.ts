import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const script = fileURLToPath(new URL("./async-dns.ts", import.meta.url))

/** Runs the example with these arguments; resolves with its exit code and output, even when it fails. */
const example = (...args: Array<string>) =>
  // RES_OPTIONS: if a nameserver is configured but unreachable, glibc gives up after 1 s, well
  // within the example's 5 s timeout, so the unknown name fails with the resolver's own error.
  run(process.execPath, [script, ...args], {
    timeout: 20_000,
    env: { ...process.env, RES_OPTIONS: "timeout:1 attempts:1" }
  }).then(
    ({ stderr, stdout }) => ({ code: 0, stderr, stdout }),
    (error: { code: number; stderr: string; stdout: string }) => ({
      code: error.code,
      stderr: error.stderr,
      stdout: error.stdout
    })
  )

describe("examples/async-dns.ts", () => {
  it("prints the address of localhost", async () => {
    const { code, stderr, stdout } = await example("localhost")
    expect(stderr).toBe("")
    expect(stdout).toMatch(/^localhost -> (127\.0\.0\.1|::1)$/m)
    expect(code).toBe(0)
  })

  it("prints a clean DnsError for an unknown name, with the span trace and the caller", async () => {
    const { code, stderr, stdout } = await example("no-such-host.invalid")
    expect(stdout).toBe("")
    expect(stderr).toMatch(/^no-such-host\.invalid -> [A-Z_]+$/m)
    expect(stderr).toMatch(/^DnsError: Could not resolve "no-such-host\.invalid"/m)
    expect(stderr).toContain("at Dns.lookup (file:")
    expect(stderr).toContain("at Dns.lookup (definition)")
    expect(stderr).toContain("at async main")
    expect(stderr).not.toContain("Unhandled")
    expect(code).toBe(1)
  })
})
