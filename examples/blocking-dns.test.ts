import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"

const run = promisify(execFile)
const script = fileURLToPath(new URL("./blocking-dns.ts", import.meta.url))

/** Runs the example with these arguments; resolves with its exit code and output, even when it fails. */
const example = (...args: Array<string>) =>
  // RES_OPTIONS: if a nameserver is configured but unreachable, glibc gives up after 1 s, well
  // within the example's 5 s timeout, so the unknown name fails with the resolver's own error.
  run(process.execPath, [script, ...args], {
    timeout: 30_000,
    env: { ...process.env, RES_OPTIONS: "timeout:1 attempts:1" }
  }).then(
    ({ stderr, stdout }) => ({ code: 0, stderr, stdout }),
    (error: { code: number; stderr: string; stdout: string }) => ({
      code: error.code,
      stderr: error.stderr,
      stdout: error.stdout
    })
  )

describe("examples/blocking-dns.ts", () => {
  it("prints the address of localhost, looked up by a synchronous call into the reactor thread", async () => {
    const { code, stderr, stdout } = await example("localhost")
    expect(stderr).toBe("")
    expect(stdout).toMatch(/^localhost -> (127\.0\.0\.1|::1)$/m)
    expect(code).toBe(0)
  }, 40_000)

  it("prints a clean DnsError for an unknown name, with the reactor-side spans and the caller's frames", async () => {
    const { code, stderr, stdout } = await example("no-such-host.invalid")
    expect(stdout).toBe("")
    // The error is an instance of Effect's DnsError on the caller's side (registered with `errors`).
    expect(stderr).toMatch(/^no-such-host\.invalid -> [A-Za-z]+$/m)
    expect(stderr).toMatch(/^DnsError: [A-Za-z]+: Dns\.lookup \(no-such-host\.invalid\)$/m)
    // The reactor thread's side: the operation's span, where it was called and where it is defined.
    expect(stderr).toMatch(/at gethostbyname \(file:.*\)/)
    expect(stderr).toMatch(/at gethostbyname \(definition\) \(file:.*blocking-dns\.reactor\.ts:\d+:\d+\)/)
    // Then the synchronous caller's own frames, in this thread.
    expect(stderr).toContain("--- (in the reactor thread) called from ---")
    expect(stderr).toMatch(/at gethostbyname \(file:.*examples\/blocking-dns\.ts:\d+:\d+\)/)
    expect(stderr).toMatch(/at main \(file:.*examples\/blocking-dns\.ts:\d+:\d+\)/)
    expect(stderr).not.toContain("Unhandled")
    expect(stderr).not.toContain("Warning")
    expect(code).toBe(1)
  }, 40_000)
})
