/**
 * The compiler's messages for a plugin author's usual mistakes must say what
 * to do: a client connected without the module's type, an operation needing
 * a service its layer lacks, a misspelt timeout. JavaScript typed with JSDoc
 * (checked with `checkJs`) must work as TypeScript does. Runs tsc over files
 * of mistakes, one per line marked `// mistake: <what the message must mention>`
 * (`|` between the parts).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { typeCheck } from "../../../scripts/typeCheck.ts"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const dir = `${root}.vitest/platform-node-type-mistakes/`

const files: Record<string, string> = {
  "services.ts": `import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export class Db extends Context.Service<Db, { readonly count: Effect.Effect<number> }>()("Db") {}
export const DbLive = Layer.succeed(Db, { count: Effect.succeed(3) })
export const count = () => Effect.flatMap(Db, (db) => db.count)
`,
  "ok.reactor.ts": `import * as Effect from "effect/Effect"
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { count, DbLive } from "./services.ts"

export default ReactorThread.define({
  layer: DbLive,
  operations: { count, echo: <A>(value: A) => Effect.succeed(value), later: async (n: number) => n + 1 },
  timeouts: { count: "1 second" }
})
`,
  "mistakes.ts": `import * as Layer from "effect/Layer"
import * as ReactorThread from "@crochet/platform-node/ReactorThread"
import { count, DbLive } from "./services.ts"

const url = new URL("./ok.reactor.ts", import.meta.url)

// What a plugin author gets wrong:
ReactorThread.connect(url).call.later(1) // mistake: ReactorThread.connect: give the reactor module's type, connect<typeof import('./x.reactor.ts')>(url)
export const lacks = ReactorThread.define({ layer: Layer.empty, operations: { count } }) // mistake: this operation needs services its layer does not provide; add them to the layer": Db
export const noLayer = ReactorThread.define({ operations: { count } }) // mistake: add them to the layer": Db
export const typo = ReactorThread.define({ layer: DbLive, operations: { count }, timeouts: { cuont: "1 second" } }) // mistake: 'cuont' does not exist | 'count'

// What is right type-checks:
export const noServices = ReactorThread.define({ operations: { later: async (n: number) => n } })
const client = ReactorThread.connect<typeof import("./ok.reactor.ts")>(url)
export const counted: number = client.call.count()
export const later: number = client.call.later(1)
export const echoed: unknown = client.call.echo("a")
export const annotated: ReactorThread.ClientOf<typeof import("./ok.reactor.ts")> = ReactorThread.connect(url)
`,
  "format.reactor.js": `import * as ReactorThread from "@crochet/platform-node/ReactorThread"

/**
 * @param {string} source
 * @returns {Promise<string>}
 */
const format = async (source) => source.trim()

export default ReactorThread.define({ operations: { format } })
`,
  "plugin.js": `import * as ReactorThread from "@crochet/platform-node/ReactorThread"

const url = new URL("./format.reactor.js", import.meta.url)

// What a plugin author gets wrong:
ReactorThread.connect(url).call.format("x") // mistake: ReactorThread.connect: give the reactor module's type | a JSDoc @type on the client
/** @type {ReactorThread.ClientOf<typeof import("./format.reactor.js")>} */
const typed = ReactorThread.connect(url)
/** @type {number} */
export const wrong = typed.call.format("x") // mistake: Type 'string' is not assignable to type 'number'

// What is right type-checks:
/** @type {string} */
export const formatted = typed.call.format("x")
/** @type {import("@crochet/platform-node").BlockingClient.Client<ReactorThread.OperationsOf<typeof import("./format.reactor.js")>>} */
const spelt = ReactorThread.connect(url)
/** @type {string} */
export const again = spelt.call.format("y")
`
}

/** tsc's messages by file and line (1-based), each with its continuation lines. */
const compile = async (): Promise<Map<string, string>> => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(`${dir}${name}`, text)
  const output = await typeCheck(dir, Object.keys(files), { allowJs: true, checkJs: true })
  const byLine = new Map<string, string>()
  let at = ""
  for (const text of output.split("\n")) {
    const start = /^.*?([\w.-]+\.[jt]s)\((\d+),\d+\): (.*)$/.exec(text)
    if (start !== null) at = `${start[1]}:${start[2]}`
    if (at !== "" && text.trim() !== "") byLine.set(at, `${byLine.get(at) ?? ""}${start?.[3] ?? text}\n`)
  }
  return byLine
}

describe("platform-node's type errors say what to do", () => {
  it(
    "each mistake's message mentions the fix, in TypeScript and in JavaScript with JSDoc; correct code has none",
    async () => {
      const messages = await compile()
      const mistakes = Object.entries(files).flatMap(([name, text]) =>
        text.split("\n").flatMap((code, index) => {
          const marker = / \/\/ mistake: (.*)$/.exec(code)
          return marker === null ? [] : [{ at: `${name}:${index + 1}`, code, expected: marker[1]!.split(" | ") }]
        })
      )
      expect(mistakes.length).toBe(6)
      for (const { at, code, expected } of mistakes) {
        const message = messages.get(at) ?? "(no error)"
        for (const part of expected) expect(message, `${at}: ${code}\n${message}`).toContain(part)
        // The old messages, that named no fix:
        expect(message).not.toContain("on type 'never'")
        expect(message).not.toContain("is not assignable to type 'never'")
      }
      const unexpected = [...messages.keys()].filter((at) => !mistakes.some((mistake) => mistake.at === at))
      expect(unexpected.map((at) => `${at}\n${messages.get(at)}`)).toEqual([])
    },
    60_000
  )
})
