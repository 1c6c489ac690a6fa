/** The reactor thread of `soak/threads.ts`: the soak operations, plus `exit` to kill the thread mid-run. */
import { ReactorThread } from "@crochet/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { operations } from "./threads-operations.ts"

export default ReactorThread.define({
  layer: Layer.empty,
  operations: {
    ...operations,
    /** Ends the reactor thread at once, like a crash: nothing replies. */
    exit: (code: number) => Effect.sync(() => process.exit(code))
  }
})
