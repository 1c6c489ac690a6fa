/**
 * The function eslint-plugin-prettier 5.5.7's worker (`worker.mjs`) gives synckit's
 * `runAsWorker`: its code unchanged, its long comments left out. The port
 * (`format.reactor.mjs`) and the floor (`floor-worker.mjs`) run it; the original plugin runs its own.
 */
import prettier from "prettier"

export const format = async (
  source,
  { filepath, onDiskFilepath, parserMeta, parserPath, usePrettierrc, ...eslintPrettierOptions },
  eslintFileInfoOptions
) => {
  const prettierRcOptions = usePrettierrc
    ? await prettier.resolveConfig(onDiskFilepath, { editorconfig: true })
    : null
  const { ignored, inferredParser } = await prettier.getFileInfo(onDiskFilepath, {
    resolveConfig: false,
    withNodeModules: false,
    ignorePath: ".prettierignore",
    ...prettierRcOptions,
    ...eslintFileInfoOptions
  })
  if (ignored) return
  const initialOptions = { parser: inferredParser ?? "babel" }
  if (filepath === onDiskFilepath) {
    let inferParserToBabel = false
    switch (inferredParser) {
      case "graphql": {
        if (source.startsWith("ESLintPluginGraphQLFile`")) inferParserToBabel = true
        break
      }
      case "html": {
        if (
          (typeof parserMeta !== "undefined" && parserMeta.name !== "@html-eslint/parser") ||
          (typeof parserPath === "string" && !/([\\/])@html-eslint\1parser\1/.test(parserPath))
        ) {
          inferParserToBabel = true
        }
        break
      }
      case "markdown": {
        if (
          (typeof parserMeta !== "undefined" && parserMeta.name !== "eslint-mdx") ||
          (typeof parserPath === "string" && !/([\\/])eslint-mdx\1/.test(parserPath))
        ) {
          inferParserToBabel = true
        }
        break
      }
      case "svelte": {
        if (typeof parserPath === "string" && !/([\\/])svelte-eslint-parser\1/.test(parserPath)) return
      }
    }
    if (inferParserToBabel) initialOptions.parser = "babel"
  } else {
    const parserBlocklist = [
      "babel",
      "babylon",
      "flow",
      "typescript",
      "vue",
      "markdown",
      "html",
      "mdx",
      "angular",
      "svelte",
      "pug",
      "oxc",
      "oxc-ts",
      "hermes"
    ]
    if (parserBlocklist.includes(inferredParser)) return
  }
  const prettierOptions = { ...initialOptions, ...prettierRcOptions, ...eslintPrettierOptions, filepath }
  return prettier.format(source, prettierOptions)
}
