/**
 * The compiler's messages for a newcomer's usual mistakes must name the real
 * problem (the misspelt option, the bad duration, the missing service), not
 * "provides no match for the signature". Runs tsc over a file of mistakes,
 * one per line marked `// mistake: <what the message must mention>`.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { typeCheck } from "../../../scripts/typeCheck.ts"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const dir = `${root}.vitest/type-mistakes/`

const source = `import { Context, Effect, Layer } from "effect"
import { type EventualResult, Reactor } from "@crochet/core"

class Db extends Context.Service<Db, { readonly count: Effect.Effect<number> }>()("Db") {}
class Http extends Context.Service<Http, { readonly get: (url: string) => Effect.Effect<string> }>()("Http") {}
const DbLive = Layer.succeed(Db, { count: Effect.succeed(3) })
const count = Effect.gen(function*() {
  const db = yield* Db
  return yield* db.count
})
const fetchPage = (url: string) =>
  Effect.gen(function*() {
    const http = yield* Http
    return yield* http.get(url)
  })

const reactor = Reactor.setup(DbLive)

// What a newcomer gets wrong:
reactor.waitFor(count, { timout: "1 second" }) // mistake: 'timout' does not exist in type 'WaitForOptions' | 'timeout'
reactor.waitFor(count, { timeout: "1 secnd" }) // mistake: "1 secnd" | not assignable to type 'Input
reactor.waitFor(fetchPage("/")) // mistake: MissingServices<Http> | the reactor does not provide
reactor.waitFor(fetchPage, { timeout: "1 second" }) // mistake: MissingServices<Http>
reactor.waitFor((n: number) => Effect.map(count, (c) => c + n), { timout: 5 }) // mistake: 'timout' does not exist in type 'WaitForOptions'
reactor.runInReactor(fetchPage("/")) // mistake: MissingServices<Http>
reactor.runInReactor(count, { timeout: "5 secs" }) // mistake: "5 secs" | not assignable to type 'Input
reactor.waitFor(Promise.resolve(1)) // mistake: 'Promise<number>' is not assignable to parameter of type 'Runnable'
Reactor.setup(DbLive, { drian: "1 second" }) // mistake: 'drian' does not exist in type 'ReactorOptions' | 'drain'
export const app = Effect.gen(function*() {
  const made = yield* Reactor.make() // no type parameter: a Reactor<never>
  return made.waitFor(count) // mistake: MissingServices<Db>
})
const countId = reactor.runInReactor(count).stash() // a StashId<number, never>
export const asText: EventualResult.EventualResult<string> = reactor.retrieve(countId) // mistake: 'EventualResult<number, never>' is not assignable to type 'EventualResult<string, never>'
export const fromCookie: EventualResult.StashId<number> = "l2x3.0a1b" // mistake: 'string' is not assignable to type 'StashId<number, never>'

// What is right type-checks:
export const value: Promise<number> = reactor.waitFor(count, { timeout: "1 second" })
export const typedBack: EventualResult.EventualResult<number> = reactor.retrieve(countId)
export const untyped: EventualResult.EventualResult<unknown, unknown> = reactor.retrieve("l2x3.0a1b")
export const claimed: EventualResult.EventualResult<number> = reactor.retrieve("l2x3.0a1b" as EventualResult.StashId<number>)
export const idAsText: string = countId
export const wrapped: (n: number) => Promise<number> = reactor.waitFor((n: number) => Effect.map(count, (c) => c + n))
export const handle = reactor.runInReactor((n: number) => Effect.succeed(n), { timeout: 5000 })
// Generic wrappers over a reactor type-check too.
export const call = <A, E, R>(on: Reactor.Reactor<R>, effect: Effect.Effect<A, E, R>): Promise<A> => on.waitFor(effect)
export const wrap = <Args extends ReadonlyArray<any>, A, E, R>(on: Reactor.Reactor<R>, f: (...args: Args) => Effect.Effect<A, E, R>) =>
  on.runInReactor(f)
export const typed = Effect.gen(function*() {
  const made = yield* Reactor.make<Db | Http>()
  return [made.waitFor(count), made.waitFor(fetchPage("/"))]
})
`

/** tsc's messages by line (1-based), each with its continuation lines. */
const compile = async (): Promise<Map<number, string>> => {
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}mistakes.ts`, source)
  const output = await typeCheck(dir, ["mistakes.ts"])
  const byLine = new Map<number, string>()
  let line = 0
  for (const text of output.split("\n")) {
    const start = /^.*mistakes\.ts\((\d+),\d+\): (.*)$/.exec(text)
    if (start !== null) line = Number(start[1])
    if (line > 0 && text.trim() !== "") byLine.set(line, `${byLine.get(line) ?? ""}${start?.[2] ?? text}\n`)
  }
  return byLine
}

describe("type errors name the real problem", () => {
  it("each mistake's message mentions what is wrong; correct code has none", async () => {
    const messages = await compile()
    const lines = source.split("\n")
    const mistakes = lines.flatMap((text, index) => {
      const marker = / \/\/ mistake: (.*)$/.exec(text)
      return marker === null ? [] : [{ line: index + 1, code: text, expected: marker[1]!.split(" | ") }]
    })
    expect(mistakes.length).toBe(12)
    for (const { code, expected, line } of mistakes) {
      const message = messages.get(line) ?? "(no error)"
      for (const part of expected) expect(message, `${code}\n${message}`).toContain(part)
      // The old message, that blamed the other overload:
      expect(message).not.toContain("provides no match for the signature")
    }
    const unexpected = [...messages.keys()].filter((line) => !mistakes.some((mistake) => mistake.line === line))
    expect(unexpected.map((line) => `${lines[line - 1]}\n${messages.get(line)}`)).toEqual([])
  }, 60_000)
})
