import { InvalidArgument, Reactor } from "@crochet/core"
import { MainThreadBridge, NodeReactor, ReactorThread } from "@crochet/platform-node"
import { Effect, Exit, Layer, Scope } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { thrown } from "./helpers.ts"

const module = new URL("./fixtures/echo.reactor.ts", import.meta.url)
const operations = { add: (a: number, b: number) => Effect.succeed(a + b) }

/**
 * Every entry point of the package that takes options, with the keys it
 * knows: given `options`, each throws (synchronously) or returns.
 */
const entryPoints: ReadonlyArray<{
  readonly call: string
  readonly keys: ReadonlyArray<string>
  readonly run: (options: object) => unknown
}> = [
  {
    call: "ReactorThread.connect",
    keys: [
      "timeout",
      "eager",
      "startTimeout",
      "shutdownTimeout",
      "exportName",
      "errors",
      "lowLatency",
      "resourceLimits",
      "traceContext"
    ],
    // No thread starts: nothing is called.
    run: (options) => ReactorThread.connect(module, options as never)
  },
  {
    call: "ReactorThread.connect: options.lowLatency",
    keys: ["reactorSpin", "busyPoll", "callerSpin"],
    run: (options) => ReactorThread.connect(module, { lowLatency: options as never })
  },
  {
    call: "ReactorThread.define",
    keys: ["layer", "operations", "timeouts", "reactor"],
    run: (options) => ReactorThread.define({ layer: Layer.empty, operations, ...options } as never)
  },
  {
    call: "ReactorThread.define: reactor",
    keys: [...Reactor.optionKeys],
    run: (options) => ReactorThread.define({ layer: Layer.empty, operations, reactor: options as never })
  },
  {
    call: "reactor thread echo.reactor.ts: with()",
    keys: ["timeout"],
    // eager: false, so that no thread starts: nothing is called.
    run: (options) => ReactorThread.connect(module, { eager: false }).with(options as never)
  },
  {
    call: "MainThreadBridge.serve",
    keys: ["timeouts", "lowLatency"],
    run: (options) => MainThreadBridge.serve(Reactor.setup(Layer.empty), operations, options as never)
  },
  {
    call: "MainThreadBridge.make",
    keys: ["timeouts", "lowLatency", "reactor"],
    run: (options) => MainThreadBridge.make(operations, options as never)
  },
  {
    call: "NodeReactor.setup",
    keys: [...Reactor.optionKeys, "signals", "keepAlive", "blockingLimit", "beforeShutdown", "beforeShutdownTimeout"],
    run: (options) => NodeReactor.setup(Layer.empty, { ...options, signals: false } as never)
  }
]

describe("an unknown option key is InvalidArgument naming the nearest valid one, at every entry point", () => {
  it("random keys (fast-check)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...entryPoints), fc.string({ minLength: 1 }), ({ call, keys, run }, key) => {
        fc.pre(!keys.includes(key))
        const error = thrown(() => run({ [key]: undefined }))
        expect(error).toBeInstanceOf(InvalidArgument)
        expect(error.message).toContain(`${call}: unknown option \`${key}\``)
        for (const known of keys) expect(error.message).toContain(`\`${known}\``)
      }),
      { numRuns: 300 }
    )
  })

  it("typical typos get the intended key", () => {
    const message = (run: () => unknown) => thrown(run).message as string
    expect(message(() => ReactorThread.connect(module, { timout: "1 second" } as never))).toMatch(
      /^ReactorThread.connect: unknown option `timout`; did you mean `timeout`\?/
    )
    expect(message(() => ReactorThread.connect(module, { resourceLimits: { maxOldGenerationSizeMB: 64 } as never })))
      .toContain(
        "did you mean `maxOldGenerationSizeMb`?"
      )
    expect(message(() => ReactorThread.connect(module, { lowLatency: { callerspin: 1 } as never }))).toContain(
      "did you mean `callerSpin`?"
    )
    expect(
      message(() => ReactorThread.define({ layer: Layer.empty, operations, timeouts: { ad: "1 second" } as never }))
    )
      .toMatch(/^ReactorThread.define: timeouts \(by operation\): unknown option `ad`; did you mean `add`\?/)
    expect(message(() => ReactorThread.connect(module).with({ timeuot: 5 } as never))).toContain(
      "did you mean `timeout`?"
    )
    expect(
      message(() => MainThreadBridge.serve(Reactor.setup(Layer.empty), operations, { timeouts: { addd: 1 } } as never))
    )
      .toContain("did you mean `add`?")
    expect(message(() => NodeReactor.setup(Layer.empty, { keepalive: "always" } as never))).toContain(
      "did you mean `keepAlive`?"
    )
  })

  it("MainThreadBridge's low-latency option has ReactorThread's name: the old `spin` is refused, naming it", () => {
    for (
      const run of [
        () => MainThreadBridge.serve(Reactor.setup(Layer.empty), operations, { spin: 1 } as never),
        () => MainThreadBridge.make(operations, { spin: 1 } as never)
      ]
    ) {
      const error = thrown(run)
      expect(error).toBeInstanceOf(InvalidArgument)
      expect(error.message).toContain("unknown option `spin`")
      expect(error.message).toContain("`lowLatency`")
    }
    expect(() =>
      MainThreadBridge.serve(Reactor.setup(Layer.empty), operations, { lowLatency: { reactorSpin: "fast" as never } })
    )
      .toThrow(/MainThreadBridge.serve: options.lowLatency.reactorSpin/)
  })

  it("MainThreadBridge.connect checks its options before it connects", async () => {
    const scope = Scope.makeUnsafe()
    const bridge = await Effect.runPromise(Scope.provide(MainThreadBridge.make(operations), scope))
    // The serving thread may not connect (WrongThread), so the check must come first to be seen here.
    const endpoint = { ...bridge.endpoint(), servingThread: -1 }
    const error = thrown(() => MainThreadBridge.connect(endpoint, { lowLatncy: true } as never))
    expect(error).toBeInstanceOf(InvalidArgument)
    expect(error.message).toMatch(/^MainThreadBridge.connect: unknown option `lowLatncy`; did you mean `lowLatency`\?/)
    const lowLatency = thrown(() => MainThreadBridge.connect(endpoint, { lowLatency: { reactorSpin: 1 } } as never))
    expect(lowLatency.message).toMatch(/^MainThreadBridge.connect: options.lowLatency: unknown option `reactorSpin`/)
    endpoint.port.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
})

describe("NodeReactor.setup's process options", () => {
  it("a bad blockingLimit or beforeShutdownTimeout is InvalidArgument naming it, and beforeShutdown must be a function; nothing is set up", () => {
    const listeners = process.listenerCount("SIGTERM")
    for (
      const [options, named] of [
        [{ blockingLimit: "soon" }, "NodeReactor.setup: options.blockingLimit"],
        [{ blockingLimit: -1 }, "NodeReactor.setup: options.blockingLimit"],
        [{ beforeShutdownTimeout: "10 secs" }, "NodeReactor.setup: options.beforeShutdownTimeout"],
        [{ beforeShutdown: "app.close()" }, "NodeReactor.setup: options.beforeShutdown must be a function"]
      ] as const
    ) {
      const error = thrown(() => NodeReactor.setup(Layer.empty, options as never))
      expect(error).toBeInstanceOf(InvalidArgument)
      expect(error.message).toContain(named)
    }
    expect(process.listenerCount("SIGTERM")).toBe(listeners)
  })
})
