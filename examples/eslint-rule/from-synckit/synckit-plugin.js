// Before: the plugin, on synckit.
import { createSyncFn } from "synckit"
import { makeRule } from "./rule.js"

/** @type {(source: string) => string} */
const format = createSyncFn(new URL("./synckit-worker.js", import.meta.url))

export default { rules: { format: makeRule(format) } }
