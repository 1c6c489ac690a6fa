/**
 * The team's glossary as an Effect service: terms to avoid and what to say
 * instead, loaded (asynchronously) once, when the layer is built.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

export class Glossary extends Context.Service<Glossary, {
  readonly check: (text: string) => Effect.Effect<Array<Finding>>
}>()("examples/eslint-rule/Glossary") {
  static readonly layer = Layer.effect(
    Glossary,
    Effect.map(Effect.promise(loadGlossary), (glossary) =>
      Glossary.of({ check: (text) => Effect.sync(() => findTerms(glossary, text)) }))
  )
}
