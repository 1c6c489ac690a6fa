/**
 * A reactor module whose thread dies of an uncaught error (docs/threads.md,
 * "The crash/restart rule"): `crashSoon` arms a timer that throws outside
 * Effect, then waits for ever.
 */
import { ReactorThread } from "@crochet/platform-node"
import * as Effect from "effect/Effect"

export default ReactorThread.define({
  operations: {
    crashSoon: () =>
      Effect.sync(() => {
        setTimeout(() => {
          throw new TypeError("cannot read the config")
        }, 10)
      }).pipe(Effect.andThen(Effect.never)),
    ping: () => Effect.succeed("pong")
  }
})
