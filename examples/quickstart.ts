/**
 * `npm start`: a reactor in a plain async program, in one screen.
 * Run it with `npx node examples/quickstart.ts`.
 */
import { Reactor, TimeoutError } from "@crochet/core"
import { Context, Data, Effect, Layer } from "effect"

// An Effect service, as a library would have it.
class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: number }> {}

class Users extends Context.Service<Users, {
  readonly find: (id: number) => Effect.Effect<string, UserNotFound>
}>()("Users") {}

const findUser = Effect.fn("findUser")(function*(id: number) {
  yield* Effect.sleep("10 millis") // pretend to ask a database
  if (id !== 1) return yield* new UserNotFound({ id })
  return "Ada"
})

const UsersLive = Layer.succeed(Users, Users.of({ find: findUser }))

// The reactor: built on first use, shut down by `reactor.shutdown()`.
const reactor = Reactor.setup(UsersLive)

// A plain async function, backed by Effect (Crochet's @wait_for).
const greet = reactor.waitFor(
  Effect.fn("greet")(function*(id: number) {
    const users = yield* Users
    return `Hello, ${yield* users.find(id)}!`
  }),
  { timeout: "1 second" }
)

async function main() {
  console.log("1. waitFor:", await greet(1))

  // runInReactor starts the work and hands back a handle (Crochet's EventualResult).
  const slow = reactor.runInReactor(Effect.sleep("200 millis").pipe(Effect.as("slow result")))
  await slow.wait({ timeout: "50 millis" }).catch((error) => {
    console.log("2. wait timed out:", error instanceof TimeoutError, "- the work goes on")
  })
  console.log("3. waited again:", await slow.wait())

  // A failure keeps its class and fields, and its stack shows the Effect span
  // trace (findUser) and this caller (main).
  try {
    await greet(42)
  } catch (error) {
    console.log("4. failure:", (error as UserNotFound)._tag, "id", (error as UserNotFound).id)
    console.log((error as Error).stack)
  }

  await reactor.shutdown()
  console.log("5. shut down:", reactor.status)
}

main()
