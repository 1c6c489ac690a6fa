// npx eslint -c examples/eslint-rule/eslint.config.js examples/eslint-rule/sample
import glossary from "./plugin.ts"

export default [
  {
    files: ["**/*.js"],
    plugins: { glossary },
    rules: { "glossary/terms": "error" }
  }
]
