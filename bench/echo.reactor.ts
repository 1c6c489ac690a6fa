/** The reactor the bench calls: one operation that answers at once. */
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export default ReactorThread.define({
  layer: Layer.empty,
  operations: { echo: <A>(value: A) => Effect.succeed(value) }
})
