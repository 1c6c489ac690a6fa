/**
 * What the main thread serves to its workers through a MainThreadBridge
 * (docs/threads.md): a template service and the operations that use it.
 * Workers import this module for its types only.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export class Templates extends Context.Service<Templates, {
  readonly render: (page: string) => Effect.Effect<string>
}>()("examples/threads/Templates") {}

export const TemplatesLive = Layer.succeed(Templates, {
  render: (page: string) => Effect.succeed(`<h1>${page}</h1>`)
})

export const operations = {
  render: (page: string) => Effect.flatMap(Templates, (templates) => templates.render(page))
}
