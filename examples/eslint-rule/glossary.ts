/**
 * The team's glossary as an Effect service, loaded (asynchronously) once, when
 * the layer is built.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type Finding, findTerms, loadGlossary } from "./terms.ts"

export class Glossary extends Context.Service<Glossary, {
  readonly check: (text: string) => Effect.Effect<Array<Finding>>
}>()("examples/eslint-rule/Glossary") {
  static readonly layer = Layer.effect(
    Glossary,
    Effect.map(
      Effect.promise(loadGlossary),
      (glossary) => Glossary.of({ check: (text) => Effect.sync(() => findTerms(glossary, text)) })
    )
  )
}
