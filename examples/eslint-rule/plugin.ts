/**
 * An ESLint plugin whose rule asks an Effect service, synchronously: ESLint
 * calls a rule's visitors synchronously, so `glossary/terms` blocks on a
 * reactor in a background thread (`ReactorThread`) for each string literal.
 * The thread starts when ESLint loads the plugin (`connect` starts it), overlapping with
 * ESLint's own start-up, and never keeps ESLint's process alive: at exit it
 * is shut down, its finalizers run.
 */
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import type { ESLint, Rule } from "eslint"
import type { Finding } from "./terms.ts"

/** The plugin around any synchronous `check` (the bench plugs in other bridges). */
export const makePlugin = (check: (text: string) => ReadonlyArray<Finding>): ESLint.Plugin => {
  const terms: Rule.RuleModule = {
    meta: {
      type: "suggestion",
      docs: { description: "Use the team's glossary: flags terms to avoid in string literals" },
      messages: { avoid: "Say \"{{instead}}\" instead of \"{{term}}\"." },
      schema: []
    },
    create: (context) => ({
      Literal(node) {
        if (typeof node.value !== "string") return
        for (const { instead, term } of check(node.value)) {
          context.report({ node, messageId: "avoid", data: { term, instead } })
        }
      }
    })
  }
  return { meta: { name: "eslint-plugin-glossary", version: "1.0.0" }, rules: { terms } }
}

export const glossary = ReactorThread.connect<typeof import("./glossary.reactor.ts")>(
  new URL("./glossary.reactor.ts", import.meta.url),
  { timeout: "5 seconds" }
)

export default makePlugin((text) => glossary.call.check(text))
