// The floor: synckit's worker running the same format through Effect, with Node's compile cache on as a
// reactor thread has it: what loading and running Effect in a worker costs, with nothing of ours.
import { enableCompileCache } from "node:module"

enableCompileCache()
const [{ runAsWorker }, Effect, { format }] = await Promise.all([
  import("synckit"),
  import("effect/Effect"),
  import("./format.mjs")
])

runAsWorker((...args) => Effect.runPromise(Effect.promise(() => format(...args))))
