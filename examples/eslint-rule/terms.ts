/**
 * The glossary's data and matching, in plain TypeScript (no Effect): terms to
 * avoid and what to say instead.
 */
import { readFile } from "node:fs/promises"

export interface Finding {
  readonly term: string
  readonly instead: string
}

/** The glossary's terms found in `text` (whole words, any case). */
export const findTerms = (glossary: Readonly<Record<string, string>>, text: string): Array<Finding> => {
  const lower = text.toLowerCase()
  return Object.entries(glossary)
    .filter(([term]) => new RegExp(`\\b${term}\\b`).test(lower))
    .map(([term, instead]) => ({ term, instead }))
}

/** Reads the glossary file: the async work a synchronous rule cannot do itself. */
export const loadGlossary = async (): Promise<Record<string, string>> =>
  JSON.parse(await readFile(new URL("./glossary.json", import.meta.url), "utf8"))
