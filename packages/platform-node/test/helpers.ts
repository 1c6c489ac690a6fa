import { spawn } from "node:child_process"

/** Runs `f` and returns what it threw (fails the test if it did not throw). */
export const thrown = (f: () => unknown): any => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected the call to throw")
}

/**
 * A child process running `script` (with the test's environment plus `env`): its stdout as
 * lines, a wait for the first line starting with a prefix, and its end (after its output is read).
 */
export const runChild = (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env }
  })
  const lines: Array<string> = []
  let stderr = ""
  const waiters: Array<() => void> = []
  let buffered = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    const parts = buffered.split("\n")
    buffered = parts.pop()!
    lines.push(...parts)
    for (const waiter of waiters.splice(0)) waiter()
  })
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  // "close", not "exit": every line the child wrote has been read by then.
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal }))
  )
  const line = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.find((l) => l.startsWith(prefix))
        if (found !== undefined) return resolve(found)
        waiters.push(check)
      }
      void exited.then(() => {
        const found = lines.find((l) => l.startsWith(prefix))
        if (found !== undefined) resolve(found)
        else reject(new Error(`exited without "${prefix}"; stdout: ${lines.join(" | ")}; stderr: ${stderr}`))
      })
      check()
    })
  return { child, lines, line, exited, stderr: () => stderr }
}

/** `promise`, or a rejection naming `what` after `millis`. */
export const within = <A>(promise: Promise<A>, millis: number, what: string): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${millis} ms`)), millis)
    })
  ]).finally(() => clearTimeout(timer))
}
