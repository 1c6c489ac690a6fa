import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Data, Deferred, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Reactor, ReactorStartFailed, ReactorStopped, TimeoutError } from "../src/index.ts"
import { rejection } from "./helpers.ts"

class Db extends Context.Service<Db, { readonly query: (sql: string) => Effect.Effect<string> }>()("Db") {}

/** A Db layer that records its life in `events`; queries fail once it is closed. */
const dbLayer = (events: Array<string>) =>
  Layer.effect(
    Db,
    Effect.gen(function*() {
      let open = true
      events.push("db open")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          open = false
          events.push("db closed")
        })
      )
      return Db.of({
        query: (sql) => open ? Effect.succeed(`rows for ${sql}`) : Effect.die(new Error("db already closed"))
      })
    })
  )

describe("Reactor.make", () => {
  it.effect("closing the scope releases waiters with ReactorStopped before the services close", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(dbLayer(events), scope)
      const reactor = yield* Reactor.make<Db>().pipe(Effect.provideContext(Context.add(context, Scope.Scope, scope)))
      const cleanup = Effect.gen(function*() {
        const db = yield* Db
        const rows = yield* db.query("cleanup")
        events.push(`interrupted, then ${rows}`)
      })
      const pending = reactor.waitFor(Effect.never.pipe(Effect.onInterrupt(() => cleanup))).then(
        () => undefined,
        (error) => {
          events.push("waiter released")
          return error
        }
      )
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.promise(() => pending)
      expect(error).toBeInstanceOf(ReactorStopped)
      expect(Cause.hasInterrupts(error.cause)).toBe(true)
      expect(reactor.status).toBe("stopped")
      expect(events).toEqual(["db open", "interrupted, then rows for cleanup", "waiter released", "db closed"])
    }))

  it.effect("drain lets in-flight work finish, then interrupts what is left", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const reactor = yield* Reactor.make({ drain: "5 seconds" }).pipe(Scope.provide(scope))
      const quick = reactor.waitFor(Effect.sleep("3 seconds").pipe(Effect.as("finished")))
      const slow = reactor.waitFor(Effect.sleep("1 minute")).then(() => undefined, (error) => error)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* Effect.yieldNow
      expect(reactor.status).toBe("draining")
      expect(yield* Effect.promise(() => rejection(reactor.waitFor(Effect.void)))).toBeInstanceOf(ReactorStopped)
      yield* TestClock.adjust("3 seconds")
      expect(yield* Effect.promise(() => quick)).toBe("finished")
      yield* TestClock.adjust("2 seconds")
      const cutOff = yield* Effect.promise(() => slow)
      expect(cutOff).toBeInstanceOf(ReactorStopped)
      expect(cutOff.message).toContain(
        "it did not finish within the drain (5s), so it was interrupted. To let such work finish, give the reactor a longer drain (options.drain)."
      )
      yield* Fiber.join(closing)
      expect(reactor.status).toBe("stopped")
    }))

  it.effect("without a drain, work cut off by the shutdown is told about options.drain", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const reactor = yield* Reactor.make().pipe(Scope.provide(scope))
      const pending = reactor.waitFor(Effect.never).then(() => undefined, (error) => error)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.promise(() => pending)
      expect(error).toBeInstanceOf(ReactorStopped)
      expect(error.message).toBe(
        "The reactor shut down while this work was running, so it was interrupted. " +
          "To let in-flight work finish first, give the reactor a drain (options.drain)."
      )
    }))

  it.effect("a finalizer that never ends cannot stall shutdown past shutdownTimeout", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make<unknown, void>(({ message }) => lines.push(String(message)))
      const scope = yield* Scope.make()
      const reactor = yield* Reactor.make({ shutdownTimeout: "30 seconds", logger }).pipe(Scope.provide(scope))
      const stuck = reactor.waitFor(Effect.never.pipe(Effect.ensuring(Effect.never))).then(
        () => undefined,
        (error) => error
      )
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Effect.promise(() => stuck)
      expect(error).toBeInstanceOf(ReactorStopped)
      expect(error.message).toContain("its finalizers did not finish within the shutdown timeout (30s)")
      expect(error.message).toContain(
        "Look for a finalizer of this work (Effect.ensuring, acquireRelease) that never ends"
      )
      // A drain is the knob for work cut off by the shutdown, not for a finalizer that never ends.
      expect(error.message).not.toMatch(/give .*drain/i)
      yield* Fiber.join(closing)
      expect(lines.some((line) => line.includes("1 fiber(s) did not finish their finalizers"))).toBe(true)
    }))
})

describe("Reactor.setup", () => {
  it("builds the layer on first use, shares it per layer, and can be set up again after shutdown", async () => {
    const events: Array<string> = []
    const layer = dbLayer(events)
    const reactor = Reactor.setup(layer)
    expect(events).toEqual([])
    expect(Reactor.setup(layer)).toBe(reactor)
    const query = reactor.waitFor((sql: string) => Effect.flatMap(Effect.service(Db), (db) => db.query(sql)))
    expect(await Promise.all([query("a"), query("b")])).toEqual(["rows for a", "rows for b"])
    expect(events).toEqual(["db open"])
    await reactor.shutdown()
    expect(events).toEqual(["db open", "db closed"])
    const again = Reactor.setup(layer)
    expect(again).not.toBe(reactor)
    expect(await again.waitFor(Effect.flatMap(Effect.service(Db), (db) => db.query("c")))).toBe("rows for c")
    await again.shutdown()
    expect(events).toEqual(["db open", "db closed", "db open", "db closed"])
  })

  it("reports a layer that fails to build to every caller, and builds again on the next call", async () => {
    class ConnectionRefused extends Data.TaggedError("ConnectionRefused")<{ readonly port: number }> {}
    let attempts = 0
    const layer = Layer.effect(
      Db,
      Effect.suspend(() => {
        attempts++
        return attempts === 1
          ? Effect.sleep(1).pipe(Effect.andThen(Effect.fail(new ConnectionRefused({ port: 5432 }))))
          : Effect.succeed(Db.of({ query: () => Effect.succeed("ok") }))
      })
    )
    const reactor = Reactor.setup(layer)
    const query = Effect.flatMap(Effect.service(Db), (db) => db.query("x"))
    const [a, b] = await Promise.all([rejection(reactor.waitFor(query)), rejection(reactor.waitFor(query))])
    for (const error of [a, b]) {
      expect(error).toBeInstanceOf(ReactorStartFailed)
      expect(error.message).toContain("ConnectionRefused")
      expect(Cause.squash(error.cause)).toEqual(new ConnectionRefused({ port: 5432 }))
    }
    expect(attempts).toBe(1)
    expect(await reactor.waitFor(query)).toBe("ok")
    expect(attempts).toBe(2)
    await reactor.shutdown()
  })

  it("a layer that hangs while building: the call times out cleanly and shutdown still works", async () => {
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.never), { shutdownTimeout: "1 second" })
    expect(await rejection(reactor.waitFor(Effect.void, { timeout: 20 }))).toBeInstanceOf(TimeoutError)
    const pending = rejection(reactor.waitFor(Effect.void))
    await reactor.shutdown()
    expect(await pending).toBeInstanceOf(ReactorStopped)
    expect(reactor.status).toBe("stopped")
  })

  it("a layer finalizer that never ends: shutdown returns after shutdownTimeout and says why", async () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ message }) => lines.push(String(message)))
    const layer = Layer.effectDiscard(Effect.addFinalizer(() => Effect.never))
    const reactor = Reactor.setup(layer, { shutdownTimeout: 30, logger })
    await reactor.waitFor(Effect.void)
    await reactor.shutdown()
    expect(reactor.status).toBe("stopped")
    expect(lines.some((line) => line.includes("the layer's finalizers did not finish within shutdownTimeout"))).toBe(
      true
    )
  })

  it("a layer finalizer that throws: the other finalizers run, shutdown completes, the failure is logged", async () => {
    const events: Array<string> = []
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ cause, message }) => lines.push(`${message} ${Cause.pretty(cause)}`))
    const layer = Layer.mergeAll(
      Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => events.push("first closed")))),
      Layer.effectDiscard(Effect.addFinalizer(() =>
        Effect.sync(() => {
          throw new Error("close failed")
        })
      )),
      Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => events.push("third closed"))))
    )
    const reactor = Reactor.setup(layer, { logger })
    await reactor.waitFor(Effect.void)
    await reactor.shutdown()
    expect(reactor.status).toBe("stopped")
    expect(events.sort()).toEqual(["first closed", "third closed"])
    expect(lines.some((line) => line.includes("a finalizer of the layer failed") && line.includes("close failed")))
      .toBe(
        true
      )
  })

  it("shutdown is idempotent and safe to call from many callers at once", async () => {
    let closed = 0
    const layer = Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => closed++)))
    const reactor = Reactor.setup(layer)
    await reactor.waitFor(Effect.void)
    await Promise.all(Array.from({ length: 100 }, () => reactor.shutdown()))
    await reactor.shutdown()
    expect(closed).toBe(1)
  })

  it("releases thousands of pending waits and results with ReactorStopped", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const waits = Array.from({ length: 5000 }, () => rejection(reactor.waitFor(Effect.never)))
    const results = Array.from({ length: 5000 }, () => reactor.runInReactor(Effect.never))
    await reactor.shutdown()
    for (const error of await Promise.all(waits)) expect(error).toBeInstanceOf(ReactorStopped)
    for (const result of results) expect(await rejection(result.wait())).toBeInstanceOf(ReactorStopped)
  })

  it("keeps a failure that happened while shutdown interrupted the work", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const plain = rejection(reactor.waitFor(Effect.never))
    const failingCleanup = rejection(
      reactor.waitFor(Effect.never.pipe(Effect.ensuring(Effect.die(new Error("cleanup failed")))))
    )
    await reactor.shutdown()
    const [quiet, noisy] = await Promise.all([plain, failingCleanup])
    expect(quiet).toBeInstanceOf(ReactorStopped)
    expect(noisy).toBeInstanceOf(ReactorStopped)
    expect(Cause.hasInterrupts(noisy.cause)).toBe(true)
    expect(Cause.squash(noisy.cause)).toEqual(new Error("cleanup failed"))
    expect(Cause.hasDies(quiet.cause)).toBe(false)
  })

  it("shutdownAll stops every reactor made by setup", async () => {
    const a = Reactor.setup(Layer.empty)
    const b = Reactor.setup(Layer.succeed(Db, Db.of({ query: () => Effect.succeed("") })))
    await Reactor.shutdownAll()
    expect([a.status, b.status]).toEqual(["stopped", "stopped"])
  })
})

describe("await using", () => {
  it("a reactor declared with await using shuts down when its block ends: waiters released, then the layer's finalizers", async () => {
    const events: Array<string> = []
    let pending: Promise<unknown> | undefined
    let declared: Reactor.Reactor<Db> | undefined
    {
      await using reactor = Reactor.setup(dbLayer(events))
      declared = reactor
      expect(await reactor.waitFor(Effect.flatMap(Db, (db) => db.query("select 1")))).toBe("rows for select 1")
      pending = rejection(reactor.waitFor(Effect.never))
      expect(reactor.status).toBe("running")
    }
    expect(declared.status).toBe("stopped")
    expect(await pending).toBeInstanceOf(ReactorStopped)
    expect(events).toEqual(["db open", "db closed"])
  })

  it("a block that throws still shuts the reactor down, and the block's error is the one thrown", async () => {
    let declared: Reactor.Reactor<never> | undefined
    const thrown = await (async () => {
      await using reactor = Reactor.setup(Layer.empty)
      declared = reactor
      throw new Error("the block failed")
    })().catch((error: unknown) => error)
    expect((thrown as Error).message).toBe("the block failed")
    expect(declared!.status).toBe("stopped")
  })

  it.effect("a reactor from Reactor.make disposed early is stopped, and the scope's own shutdown is then a no-op", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.make()
      yield* Effect.promise(() => reactor[Symbol.asyncDispose]())
      expect(reactor.status).toBe("stopped")
      expect(yield* Effect.promise(() => rejection(reactor.waitFor(Effect.succeed(1))))).toBeInstanceOf(ReactorStopped)
    }).pipe(Effect.scoped))
})

describe("logging", () => {
  it("routes the effects' logs to options.logger, filtered by options.logLevel", async () => {
    const lines: Array<string> = []
    const logger = Logger.make<unknown, void>(({ logLevel, message }) => lines.push(`${logLevel}: ${message}`))
    const reactor = Reactor.setup(Layer.empty, { logger, logLevel: "Error" })
    await reactor.waitFor(Effect.logInfo("chatty"))
    await reactor.waitFor(Effect.logError("important"))
    expect(lines).toEqual(["Error: important"])
    await reactor.shutdown()
  })
})

describe("Deferred interop", () => {
  it("work waiting on a Deferred completed from outside resolves its caller", async () => {
    const reactor = Reactor.setup(Layer.empty)
    const gate = Deferred.makeUnsafe<string>()
    const pending = reactor.waitFor(Deferred.await(gate))
    Deferred.doneUnsafe(gate, Exit.succeed("opened"))
    expect(await pending).toBe("opened")
    await reactor.shutdown()
  })
})

describe("work that shuts its own reactor down", () => {
  it("is interrupted, not left running past the shutdown", async () => {
    const reactor = Reactor.setup(Layer.empty)
    let finished = false
    const work = Effect.sync(() => void reactor.shutdown()).pipe(
      Effect.andThen(Effect.sleep(5)),
      Effect.andThen(Effect.sync(() => {
        finished = true
      }))
    )
    expect(await rejection(reactor.waitFor(work))).toBeInstanceOf(ReactorStopped)
    await reactor.shutdown()
    expect(finished).toBe(false)
  })
})

describe("threads", () => {
  it("passing a reactor to another thread fails at once, saying what to use instead", async () => {
    const reactor = Reactor.setup(Layer.empty)
    expect(() => structuredClone(reactor)).toThrow(/cannot be passed to another thread; use MainThreadBridge/)
    await reactor.shutdown()
  })
})
