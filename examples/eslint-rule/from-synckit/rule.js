/**
 * The rule both plugins share, shaped like eslint-plugin-prettier's: it formats the file
 * through a synchronous `format`, reports a file that is not formatted, and reports the
 * formatter's SyntaxError as a parsing error where the formatter says it is.
 *
 * @param {(source: string) => string} format
 * @returns {import("eslint").Rule.RuleModule}
 */
export const makeRule = (format) => ({
  meta: {
    type: "layout",
    messages: { unformatted: "Run the formatter: this file is not formatted.", parsing: "Parsing error: {{message}}" },
    schema: []
  },
  create: (context) => ({
    "Program:exit"(node) {
      const source = context.sourceCode.text
      try {
        if (format(source) !== source) context.report({ node, messageId: "unformatted" })
      } catch (error) {
        // Only the formatter's own parse error is a finding; anything else is a bug: rethrow it.
        if (!(error instanceof SyntaxError) || !("loc" in error)) throw error
        const { start } = /** @type {{ start: { line: number, column: number } }} */ (error.loc)
        // The formatter counts columns from 1, ESLint from 0.
        context.report({
          loc: { line: start.line, column: start.column - 1 },
          messageId: "parsing",
          data: { message: error.message }
        })
      }
    }
  })
})
