/**
 * Reactor.layer in an Effect application's layer graph: app services → the
 * reactor (under the app's own key) → a service that hands callbacks to a
 * library not written in Effect (an EventEmitter).
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { EventEmitter, once } from "node:events"
import { InvalidArgument, Reactor, ReactorStopped, TimeoutError } from "../src/index.ts"

/** What happened, in order, across the whole layer's life. */
const events: Array<string> = []

class Users extends Context.Service<Users, {
  readonly register: (name: string) => Effect.Effect<number>
}>()("test/Users") {
  static readonly layer = Layer.effect(
    Users,
    Effect.acquireRelease(
      Effect.sync(() => {
        events.push("users open")
        let nextId = 1
        return Users.of({
          register: (name) => {
            if (name === "slow") return Effect.as(Effect.sleep("1 minute"), 0)
            if (name === "stuck") {
              return Effect.sync(() => events.push("stuck work started")).pipe(
                Effect.andThen(Effect.never),
                Effect.onInterrupt(() => Effect.sync(() => events.push("stuck work interrupted")))
              )
            }
            return Effect.sync(() => nextId++)
          }
        })
      }),
      () => Effect.sync(() => events.push("users closed"))
    )
  )
}

class AppReactor extends Context.Service<AppReactor, Reactor.Reactor<Users>>()("test/AppReactor") {}

/**
 * The callback-driven service: a plain EventEmitter ("signup" in, "registered"
 * or "failed" out) whose handler calls the reactor.
 */
class Signups extends Context.Service<Signups, EventEmitter>()("test/Signups") {
  static readonly layer = Layer.effect(
    Signups,
    Effect.gen(function*() {
      const reactor = yield* AppReactor
      const emitter = new EventEmitter()
      const onSignup = (name: string) =>
        reactor.waitFor(Users.use((users) => users.register(name)), { timeout: "5 seconds" }).then(
          (id) => emitter.emit("registered", name, id),
          (error: Error & { _tag?: string }) => {
            events.push(`signup ${name}: ${error._tag ?? error.name}`)
            emitter.emit("failed", name, error)
          }
        )
      emitter.on("signup", onSignup)
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          emitter.off("signup", onSignup)
          events.push("signups closed")
        })
      )
      return emitter
    })
  )
}

const AppLive = Signups.layer.pipe(
  Layer.provideMerge(Reactor.layer(AppReactor)),
  Layer.provideMerge(Users.layer)
)

let released: Promise<unknown> | undefined

it.layer(AppLive)("Reactor.layer", (it) => {
  it.effect("a callback from the library runs in the reactor with the app's services", () =>
    Effect.gen(function*() {
      const signups = yield* Signups
      const registered = once(signups, "registered")
      signups.emit("signup", "ada")
      expect(yield* Effect.promise(() => registered)).toEqual(["ada", 1])
    }))

  it.effect("the call's timeout runs on the app's Clock (here the TestClock)", () =>
    Effect.gen(function*() {
      const signups = yield* Signups
      const failed = once(signups, "failed")
      signups.emit("signup", "slow")
      yield* TestClock.adjust("4 seconds")
      expect((yield* AppReactor).stats().inFlight).toBe(1)
      yield* TestClock.adjust("1 second")
      const [name, error] = yield* Effect.promise(() => failed)
      expect(name).toBe("slow")
      expect(error).toBeInstanceOf(TimeoutError)
      expect((yield* AppReactor).stats().inFlight).toBe(0)
    }))

  it.effect("work still running when the layer is torn down (checked by the next test)", () =>
    Effect.gen(function*() {
      const signups = yield* Signups
      released = once(signups, "failed")
      signups.emit("signup", "stuck")
      expect(events.at(-1)).toBe("stuck work started")
      expect((yield* AppReactor).status).toBe("running")
    }))
})

// Runs after the block above has closed its layer's scope.
it("at teardown the reactor stops and releases its callers before the services it uses are finalized", async () => {
  const [name, error] = (await released) as [string, unknown]
  expect(name).toBe("stuck")
  expect(error).toBeInstanceOf(ReactorStopped)
  expect(events).toEqual([
    "users open",
    "signup slow: TimeoutError",
    "stuck work started",
    // The layer that depends on the reactor goes first...
    "signups closed",
    // ...then the reactor: work interrupted, caller released...
    "stuck work interrupted",
    "signup stuck: ReactorStopped",
    // ...and only then the services the reactor used.
    "users closed"
  ])
})

it("bad options throw InvalidArgument when the layer is made, not when it is built", () => {
  expect(() => Reactor.layer(AppReactor, { drain: "soon" as never })).toThrow(InvalidArgument)
})
