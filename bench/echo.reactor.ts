/** The reactor the bench calls: operations that answer (or fail) at once. */
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { NotFound } from "./echo-errors.ts"

export default ReactorThread.define({
  layer: Layer.empty,
  operations: {
    echo: <A>(value: A) => Effect.succeed(value),
    /** A typed failure from inside an `Effect.fn` span, as an application's lookup fails. */
    fail: Effect.fn("lookup")(function*(n: number) {
      return yield* new NotFound({ message: `no entry ${n}`, n })
    })
  }
})
