// After: the reactor module ReactorThread runs.
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { format } from "./format.js"

export default ReactorThread.define({
  operations: { format }
})
