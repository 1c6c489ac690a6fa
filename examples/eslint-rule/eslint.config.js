// npx eslint -c examples/eslint-rule/eslint.config.js examples/eslint-rule/sample
import glossaryPlugin from "./plugin.ts"

export default [
  {
    files: ["**/*.js"],
    plugins: { glossary: glossaryPlugin },
    rules: { "glossary/terms": "error" }
  }
]
