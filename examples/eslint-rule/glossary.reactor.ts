/**
 * The reactor module: runs in the reactor thread. The plugin (ESLint's thread)
 * calls `check` and blocks until the answer.
 */
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { Glossary } from "./glossary.ts"

export default ReactorThread.define({
  layer: Glossary.layer,
  operations: {
    check: (text: string) => Glossary.use((glossary) => glossary.check(text))
  },
  timeouts: { check: "2 seconds" }
})
