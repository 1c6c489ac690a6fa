/**
 * A stand-in for Prettier's `format`, which this repository does not install. Like it, it
 * is async, reads the code with a parser of its own (here ESLint's, set to ES2015, while the
 * linter reads the latest syntax), and rejects what it cannot read with a SyntaxError
 * carrying `loc`; otherwise it trims trailing whitespace and ends the file with one newline.
 */
import { Linter } from "eslint"

const parser = new Linter()

/**
 * @param {string} source
 * @returns {Promise<string>}
 */
export const format = async (source) => {
  const config = {
    languageOptions: { ecmaVersion: /** @type {const} */ (2015), sourceType: /** @type {const} */ ("module") }
  }
  const fatal = parser.verify(source, config).find((message) => message.fatal)
  if (fatal !== undefined) {
    const reason = fatal.message.replace(/^Parsing error: /, "")
    throw Object.assign(new SyntaxError(`${reason} (${fatal.line}:${fatal.column})`), {
      loc: { start: { line: fatal.line, column: fatal.column } }
    })
  }
  return `${source.split("\n").map((line) => line.trimEnd()).join("\n").trimEnd()}\n`
}
