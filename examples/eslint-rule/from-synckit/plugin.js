// After: the plugin, on ReactorThread.
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { makeRule } from "./rule.js"

/** @type {ReactorThread.ClientOf<typeof import("./format.reactor.js")>} */
const formatter = ReactorThread.connect(new URL("./format.reactor.js", import.meta.url))

export default { rules: { format: makeRule((source) => formatter.call.format(source)) } }
