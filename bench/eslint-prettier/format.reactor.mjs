// The port: eslint-plugin-prettier's worker as a reactor module (docs/plugins.md, "From synckit, line by line").
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { format } from "./format.mjs"

export default ReactorThread.define({ operations: { format } })
