import { runAsWorker } from "synckit"
import { findTerms, loadGlossary } from "../examples/eslint-rule/terms.ts"

const glossary = loadGlossary()

runAsWorker(async (text: string) => findTerms(await glossary, text))
