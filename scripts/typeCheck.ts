/**
 * Type-checks files as modules of this repository, for the tests that hold the
 * compiler's messages to account (doc snippets, newcomers' type mistakes).
 */
import { execFile } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * Runs tsc over `files` (names relative to `dir`, or absolute) with a tsconfig written to
 * `dir` that extends the repository's; returns tsc's output, empty when it found nothing.
 */
export const typeCheck = (
  dir: string,
  files: ReadonlyArray<string>,
  compilerOptions: Record<string, unknown> = {}
): Promise<string> => {
  writeFileSync(
    `${dir}tsconfig.json`,
    JSON.stringify({
      extends: `${root}tsconfig.base.json`,
      compilerOptions: {
        noEmit: true,
        composite: false,
        declaration: false,
        emitDeclarationOnly: false,
        rootDir: root,
        ...compilerOptions
      },
      files
    })
  )
  return promisify(execFile)(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${dir}tsconfig.json`])
    .then(() => "", (error: { stdout: string; stderr: string }) => error.stdout + error.stderr)
}
