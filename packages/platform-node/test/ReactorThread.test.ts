import { Cancelled, causeOf, InvalidArgument, ReactorStopped, TimeoutError } from "@crochet/core"
import {
  type BlockingClient,
  NotCloneable,
  ReactorThread,
  ReactorThreadStartFailed,
  UnknownOperation
} from "@crochet/platform-node"
import * as Cause from "effect/Cause"
import { once } from "node:events"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Socket } from "node:net"
import { tmpdir } from "node:os"
import { join, relative, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { threadId, Worker } from "node:worker_threads"
import { afterAll, describe, expect, it } from "vitest"
import { LookupError, PlainError, Point, WithCause } from "./fixtures/errors.ts"
import { shapeOf } from "./fixtures/shape.ts"
import { thrown } from "./helpers.ts"

type Demo = typeof import("./fixtures/demo.reactor.ts")
const demoUrl = new URL("./fixtures/demo.reactor.ts", import.meta.url)

const demo = ReactorThread.connect<Demo>(demoUrl, { errors: [LookupError, PlainError, WithCause] })
const untyped = ReactorThread.connect<Demo>(demoUrl)

afterAll(() => {
  demo.shutdown()
  untyped.shutdown()
})

describe("ReactorThread: what crosses the thread boundary", () => {
  it("a registered plain Error subclass keeps its class and its name", () => {
    const error = thrown(() => demo.call.failPlain())
    expect(error).toBeInstanceOf(PlainError)
    expect(error.name).toBe("PlainError")
    expect(String(error)).toBe("PlainError: a plain error")
    expect(error.stack.split("\n")[0]).toBe("PlainError: a plain error")
  })

  it("a typed failure's field named cause is kept", () => {
    const error = thrown(() => demo.call.failWithCause())
    expect(error).toBeInstanceOf(WithCause)
    expect(error.cause).toBeInstanceOf(Error)
    expect(error.cause.name).toBe("RangeError")
    expect(error.cause.message).toBe("inner")
  })

  it("a defect's standard cause (new Error(message, { cause })) is kept", () => {
    const error = thrown(() => demo.call.dieWithCause())
    expect(error.message).toBe("outer defect")
    expect(error.cause).toBeInstanceOf(Error)
    expect(error.cause.name).toBe("RangeError")
    expect(error.cause.message).toBe("inner defect")
  })

  it("a class instance with methods is refused with NotCloneable, as an argument and as a result", () => {
    const argument = thrown(() => demo.call.echo(new Point(3, 4)))
    expect(argument).toBeInstanceOf(NotCloneable)
    expect(argument.argument).toBe(0)
    expect(argument.message).toContain("Point")
    expect(thrown(() => demo.call.echo({ nested: [new Point(1, 2)] }))).toBeInstanceOf(NotCloneable)
    const result = thrown(() => demo.call.point())
    expect(result).toBeInstanceOf(NotCloneable)
    expect(result.argument).toBe("result")
    expect(demo.call.add(1, 2)).toBe(3)
  })
})

describe("ReactorThread: calls", () => {
  it("returns results synchronously, typed from the reactor module", () => {
    const sum: number = demo.call.add(2, 3)
    expect(sum).toBe(5)
    expect(demo.call.lookup("example.com")).toBe("example.com is 127.0.0.1")
    expect(demo.call.echo({ n: 1, list: [1, 2], map: new Map([["a", 1]]) })).toEqual({
      n: 1,
      list: [1, 2],
      map: new Map([["a", 1]])
    })
  })

  it("types calls from the module's definition", () => {
    const typeOnly = () => {
      // @ts-expect-error add takes numbers
      demo.call.add("2", 3)
      // @ts-expect-error lookup returns a string
      const wrong: number = demo.call.lookup("x")
      // @ts-expect-error no such operation
      demo.call.lokup("x")
      return wrong
    }
    expect(typeof typeOnly).toBe("function")
  })

  it("works from any thread: a worker thread gets its own reactor thread", async () => {
    const worker = new Worker(new URL("./fixtures/thread-from-worker.ts", import.meta.url))
    const [result] = await once(worker, "message")
    expect(result.sum).toBe(42)
    expect(result.failure).toBe("LookupError")
    expect(result.reactorThread).not.toBe(result.callerThread)
    await once(worker, "exit")
  })

  it("a client cannot be passed to another thread: the clone fails at once, saying so", () => {
    expect(() => structuredClone({ demo })).toThrow(/blocking client cannot be passed to another thread/)
  })

  it("runs the operations in another thread", () => {
    expect(demo.call.threadId()).not.toBe(threadId)
  })

  it("a typed failure keeps its class, _tag, fields, span trace and the caller's frames", function callerFunction() {
    const error = thrown(() => demo.call.lookup("missing"))
    expect(error).toBeInstanceOf(LookupError)
    expect(error._tag).toBe("LookupError")
    expect(error.host).toBe("missing")
    expect(error.attempts).toBe(3)
    expect(error.message).toBe("no address for missing")
    // the reactor-side stack with Effect's span trace
    expect(error.stack).toContain("at lookup (definition)")
    expect(error.stack).toContain("demo.reactor.ts")
    // the span's call-site frame is the user's or none, never the toolkit's own source
    expect(error.stack).not.toMatch(/packages\/(core|platform-node)\/(src|dist)\//)
    // the caller's own frames
    expect(error.stack).toContain("(in the reactor thread) called from")
    expect(error.stack).toContain("ReactorThread.test.ts")
    // the whole Cause, rebuilt on this side
    const cause = causeOf(error)!
    expect(Cause.isCause(cause)).toBe(true)
    expect(Cause.squash(cause)).toBe(error)
    expect(error.reactorCause).toContain("no address for missing")
  })

  it("without registered classes, a failure is an Error with the same name, _tag and fields", () => {
    const error = thrown(() => untyped.call.lookup("missing"))
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(LookupError)
    expect(error.name).toBe("LookupError")
    expect(error._tag).toBe("LookupError")
    expect(error.host).toBe("missing")
    expect(error.attempts).toBe(3)
  })

  it("a failure that is not an Error crosses as core's NonErrorFailure with the value", () => {
    const error = thrown(() => demo.call.failWith({ code: 42 }))
    expect(error._tag).toBe("NonErrorFailure")
    expect(error.value).toEqual({ code: 42 })
    expect(Cause.squash(causeOf(error)!)).toEqual({ code: 42 })
  })

  it("a defect keeps its name, message and stack", () => {
    const error = thrown(() => demo.call.die("out of range"))
    expect(error.name).toBe("RangeError")
    expect(error.message).toBe("out of range")
    expect(error.stack).toContain("demo.reactor.ts")
    expect(Cause.hasDies(causeOf(error)!)).toBe(true)
  })

  it("every failure of a parallel Cause crosses the thread, not only the first", () => {
    const error = thrown(() => demo.call.failAndDie())
    expect(error).toBeInstanceOf(LookupError)
    const cause = causeOf(error)!
    expect(cause.reasons.map((reason) => reason._tag).sort()).toEqual(["Die", "Fail"])
    const defect = cause.reasons.find((reason) => reason._tag === "Die") as Cause.Die
    expect((defect.defect as Error).name).toBe("TypeError")
    expect((defect.defect as Error).message).toBe("and a defect")
    expect(error.reactorCause).toContain("and a defect")
  })

  it("by default connect starts the thread in the background, before any call", async () => {
    const { announcements } = await import("./fixtures/announced.reactor.ts")
    const channel = new BroadcastChannel(announcements)
    const started = new Promise<unknown>((resolve) => channel.onmessage = (event) => resolve(event.data))
    const client = ReactorThread.connect<typeof import("./fixtures/announced.reactor.ts")>(
      new URL("./fixtures/announced.reactor.ts", import.meta.url)
    )
    try {
      // No call was made: the layer was built all the same, in the thread that then answers.
      const announced = await started
      expect(client.call.threadId()).toBe(announced)
    } finally {
      channel.close()
      client.shutdown()
    }
  })

  it("eager: connect starts the thread in the background without blocking", () => {
    const eager = ReactorThread.connect<Demo>(demoUrl, { eager: true })
    eager.ready()
    expect(eager.call.add(1, 2)).toBe(3)
    eager.shutdown()
    // an eager start that fails is reported to the first call
    const broken = ReactorThread.connect<Demo>(new URL("./fixtures/no-such.reactor.ts", import.meta.url), {
      eager: true
    })
    expect(thrown(() => broken.call.add(1, 2)).message).toContain("could not import")
  })

  it("starts the thread once, on the first call", () => {
    const first = demo.call.threadId()
    for (let i = 0; i < 5; i++) expect(demo.call.threadId()).toBe(first)
  })

  it("a timeout interrupts the work in the reactor thread, and the reactor keeps serving", () => {
    const error = thrown(() => demo.with({ timeout: "100 millis" }).hang())
    expect(error).toBeInstanceOf(TimeoutError)
    expect(error.message).toContain("hang() on the reactor thread demo.reactor.ts timed out after 100ms")
    // The usual cause of a blocking call that never answers, named in the message:
    expect(error.message).toContain("While a call blocks, the calling thread's event loop is frozen")
    expect(error.stack).toContain("ReactorThread.test.ts")
    // The finalizer of the interrupted fiber ran in the reactor thread:
    expect(demo.call.finalizedCount()).toBeGreaterThanOrEqual(1)
    expect(demo.call.add(1, 1)).toBe(2)
  })

  it("timeouts: a call's own beats the operation's default, which beats the client's", () => {
    const patient = ReactorThread.connect<Demo>(demoUrl, { timeout: "10 seconds" })
    const impatient = ReactorThread.connect<Demo>(demoUrl, { timeout: "100 millis" })
    try {
      // gated has a 200 ms default in the module: it wins over the client's 10 seconds
      expect(thrown(() => patient.call.gated("never")).message).toContain("timed out after 200ms")
      // the client's default applies to operations without their own
      expect(thrown(() => impatient.call.hang()).message).toContain("timed out after 100ms")
      // a call's own timeout wins over both
      expect(thrown(() => patient.with({ timeout: "50 millis" }).slowLookup("a", 2_000)).message)
        .toContain("timed out after 50ms")
      expect(patient.with({ timeout: Infinity }).slowLookup("a", 1)).toBe("a is 127.0.0.1")
    } finally {
      patient.shutdown()
      impatient.shutdown()
    }
  })

  it("bad timeouts are InvalidArgument at the call", () => {
    expect(thrown(() => demo.with({ timeout: "soon" as any }))).toBeInstanceOf(InvalidArgument)
    expect(() => ReactorThread.connect(demoUrl, { timeout: -1 })).toThrow(InvalidArgument)
    // options that are not an object, as in core's waitFor/wait
    expect(thrown(() => demo.with(null as any))).toBeInstanceOf(InvalidArgument)
    expect(thrown(() => demo.with(100 as any))).toBeInstanceOf(InvalidArgument)
    // durations that Effect would read as zero, refused as in core
    expect(thrown(() => demo.with({ timeout: { seconds: "soon" } as any }))).toBeInstanceOf(InvalidArgument)
    expect(thrown(() => demo.with({ timeout: { millis: 5000 } as any }))).toBeInstanceOf(InvalidArgument)
    expect(thrown(() => demo.with({ timeout: { seconds: NaN } }))).toBeInstanceOf(InvalidArgument)
    expect(demo.with({ timeout: { seconds: 5, milliseconds: 1 } }).add(1, 1)).toBe(2)
    // wait(100) must not mean "wait for ever" (here: until the work ends by itself, 300 ms later)
    const pending = demo.start.slowLookup("a", 300)
    expect(thrown(() => pending.wait(100 as any))).toBeInstanceOf(InvalidArgument)
    expect(thrown(() => pending.wait("1 second" as any))).toBeInstanceOf(InvalidArgument)
    expect(pending.wait({ timeout: "10 seconds" })).toBe("a is 127.0.0.1")
    expect(thrown(() => pending.wait(null as any))).toBeInstanceOf(InvalidArgument)
    expect(() => ReactorThread.connect(demoUrl, { resourceLimits: { maxOldGenerationSizeMb: "lots" as any } }))
      .toThrow(InvalidArgument)
  })

  it("a non-cloneable argument is a NotCloneable naming the operation and the argument; nothing is sent", () => {
    const error = thrown(() => demo.call.echo(() => 1))
    expect(error).toBeInstanceOf(NotCloneable)
    expect(error.operation).toBe("echo")
    expect(error.argument).toBe(0)
    expect(error.message).toContain("echo(): argument 0 (a function)")
    const socket = new Socket()
    const second = thrown(() => demo.call.add(1, socket as any))
    expect(second).toBeInstanceOf(NotCloneable)
    expect(second.argument).toBe(1)
    expect(second.message).toContain("add(): argument 1 (a Socket)")
    socket.destroy()
    expect(demo.call.add(1, 2)).toBe(3)
  })

  it("a non-cloneable result fails that call only", () => {
    const error = thrown(() => demo.call.returnsFunction())
    expect(error._tag).toBe("NotCloneable")
    expect(error.argument).toBe("result")
    expect(demo.call.add(1, 2)).toBe(3)
  })

  it("an unknown operation is an UnknownOperation listing the known ones", () => {
    const error = thrown(() => (demo.call as any).lokup("x"))
    expect(error).toBeInstanceOf(UnknownOperation)
    expect(error.operation).toBe("lokup")
    expect(error.known).toContain("lookup")
  })

  it("a blocking call from inside the reactor thread throws at once instead of deadlocking", () => {
    const error = thrown(() => demo.call.waitInside())
    expect(error.name).toBe("WrongThread")
    expect(error.message).toContain("wait() must not be run in the reactor thread")
  })
})

describe("ReactorThread: low-latency mode", () => {
  const fast = ReactorThread.connect<Demo>(demoUrl, {
    errors: [LookupError],
    lowLatency: { reactorSpin: "2 millis", callerSpin: "200 micros" }
  })
  afterAll(() => fast.shutdown())

  it("answers quick calls, async calls, failures and timeouts like the default mode", () => {
    for (let i = 0; i < 1_000; i++) expect(fast.call.add(i, 1)).toBe(i + 1)
    expect(fast.call.slowLookup("a", 20)).toBe("a is 127.0.0.1")
    expect(thrown(() => fast.call.lookup("missing"))).toBeInstanceOf(LookupError)
    expect(thrown(() => fast.with({ timeout: "50 millis" }).hang())).toBeInstanceOf(TimeoutError)
    expect(fast.call.finalizedCount()).toBeGreaterThanOrEqual(1)
    const pending = fast.start.slowLookup("b", 20)
    expect(pending.wait()).toBe("b is 127.0.0.1")
  })

  it("bad spin bounds are InvalidArgument", () => {
    expect(() => ReactorThread.connect(demoUrl, { lowLatency: { reactorSpin: "fast" as any } })).toThrow(
      InvalidArgument
    )
  })
})

describe("ReactorThread: plain async operations and no layer (a port from synckit)", () => {
  it("an async operation's value is the call's, typed from the module", () => {
    const upper: string = demo.call.upper("quiet")
    expect(upper).toBe("QUIET")
    expect(demo.start.upper("later").wait()).toBe("LATER")
  })

  it("a rejection is the error Effect.promise gives: the rejected error itself, class and fields kept", () => {
    const fromAsync = thrown(() => demo.call.rejects())
    expect(fromAsync).toBeInstanceOf(SyntaxError)
    expect(fromAsync.message).toBe("Unexpected token (1:5)")
    expect(fromAsync.loc).toEqual({ start: { line: 1, column: 5 } })
    expect(fromAsync.stack).toContain("failures.ts")
    expect(shapeOf(fromAsync)).toEqual(shapeOf(thrown(() => demo.call.promiseRejects())))
    expect(Cause.hasDies(causeOf(fromAsync)!)).toBe(true)
  })

  it("Effect.tryPromise makes the same rejection an UnknownError, which a rule cannot read as a SyntaxError", () => {
    const error = thrown(() => demo.call.tryPromiseRejects())
    expect(error._tag).toBe("UnknownError")
    expect(error).not.toBeInstanceOf(SyntaxError)
    expect(error.cause).toBeInstanceOf(SyntaxError)
  })

  it("an operation that returns neither an Effect nor a Promise fails that call with InvalidArgument", () => {
    const error = thrown(() => demo.call.returnsPlainValue())
    expect(error).toBeInstanceOf(InvalidArgument)
    expect(error.message).toContain(
      "returnsPlainValue() must return an Effect or a Promise (be an async function); it returned number"
    )
    expect(demo.call.add(1, 1)).toBe(2)
  })

  it("a module without a layer runs its operations in a reactor thread", () => {
    const client = ReactorThread.connect<typeof import("./fixtures/no-layer.reactor.ts")>(
      new URL("./fixtures/no-layer.reactor.ts", import.meta.url)
    )
    try {
      const sum: number = client.call.add(2, 3)
      expect(sum).toBe(5)
      expect(client.call.threadId()).not.toBe(threadId)
    } finally {
      client.shutdown()
    }
  })
})

describe("ReactorThread.connect: where the reactor module is", () => {
  const absolutePath = fileURLToPath(demoUrl)
  const relativePath = relative(process.cwd(), absolutePath)

  it.each([
    ["an absolute path", absolutePath],
    ["a relative path with ./, resolved against the current directory", `.${sep}${relativePath}`],
    ["a bare relative path", relativePath],
    ["a file: URL string", demoUrl.href],
    ["a URL (as before)", demoUrl]
  ])("%s", (_, module) => {
    const client = ReactorThread.connect<Demo>(module)
    try {
      expect(client.call.add(2, 3)).toBe(5)
      expect(thrown(() => client.call.lookup("missing"))).toBeInstanceOf(Error)
    } finally {
      client.shutdown()
    }
  })

  it("a relative path that is not there is a start failure naming where it looked", () => {
    const client = ReactorThread.connect<Demo>("./no-such-dir/demo.reactor.ts")
    const error = thrown(() => client.ready())
    expect(error).toBeInstanceOf(ReactorThreadStartFailed)
    expect(error.message).toContain(pathToFileURL(join(process.cwd(), "no-such-dir/demo.reactor.ts")).href)
  })

  it.each([
    ["a number", 42],
    ["null", null],
    ["an object that is not a URL", { href: demoUrl.href }],
    ["an empty string", ""],
    ["an http URL", "https://example.com/demo.reactor.mjs"],
    ["a URL of another scheme", new URL("node:worker_threads")]
  ])("anything else is InvalidArgument naming the fix, not a raw TypeError: %s", (_, module) => {
    const error = thrown(() => ReactorThread.connect(module as never))
    expect(error).toBeInstanceOf(InvalidArgument)
    expect(error.message).toMatch(/^ReactorThread.connect: /)
    expect(error.message).toContain("new URL(\"./x.reactor.ts\", import.meta.url)")
  })
})

describe("ReactorThread: handles", () => {
  it("start returns at once; wait blocks for the value; poll reads it", () => {
    const pending = demo.start.gated("first")
    expect(pending.poll()).toBeUndefined()
    demo.call.release("first")
    expect(pending.wait()).toBe("opened first")
    expect(pending.poll()?._tag).toBe("Success")
    expect(pending.wait()).toBe("opened first")
  })

  it("a wait that times out leaves the work running; a later wait gets the result", () => {
    const pending = demo.start.gated("second")
    const timedOut = thrown(() => pending.wait({ timeout: "10 millis" }))
    expect(timedOut).toBeInstanceOf(TimeoutError)
    expect(timedOut.message).toContain("this thread's event loop is frozen")
    expect(pending.poll()).toBeUndefined()
    demo.call.release("second")
    expect(pending.wait({ timeout: "10 seconds" })).toBe("opened second")
  })

  it("cancel interrupts the work; waits then throw Cancelled", () => {
    const pending = demo.start.hang()
    pending.cancel()
    const error = thrown(() => pending.wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(Cancelled)
    expect(pending.poll()?._tag).toBe("Failure")
    expect(demo.call.finalizedCount()).toBeGreaterThanOrEqual(1)
  })

  it("originalFailure gives the whole Cause of a failure", () => {
    const pending = demo.start.lookup("missing")
    expect(thrown(() => pending.wait())).toBeInstanceOf(LookupError)
    const cause = pending.originalFailure()!
    expect(Cause.squash(cause)).toBeInstanceOf(LookupError)
  })
})

describe("ReactorThread: thread death and startup", () => {
  it("a call's timeout bounds its wait for the thread to start, and to restart after a crash", () => {
    const marker = join(mkdtempSync(join(tmpdir(), "crochet-")), "slow")
    const url = new URL(`./fixtures/slow-start.reactor.ts?marker=${encodeURIComponent(marker)}`, import.meta.url)
    const client = ReactorThread.connect<typeof import("./fixtures/slow-start.reactor.ts")>(url, {
      startTimeout: "8 seconds"
    })
    try {
      writeFileSync(marker, "")
      const starting = thrown(() => client.with({ timeout: "200 millis" }).add(1, 2))
      expect(starting).toBeInstanceOf(TimeoutError)
      expect(starting.message).toContain("still starting")
      rmSync(marker)
      expect(client.call.add(1, 2)).toBe(3)
      expect(thrown(() => client.call.crash())).toBeInstanceOf(ReactorStopped)
      writeFileSync(marker, "")
      expect(thrown(() => client.with({ timeout: "200 millis" }).add(1, 2))).toBeInstanceOf(TimeoutError)
      rmSync(marker)
      expect(client.call.add(2, 2)).toBe(4)
    } finally {
      rmSync(marker, { force: true })
      client.shutdown()
    }
  })

  it("an operation's own timeout bounds the operation, not the wait for the thread to start", () => {
    const url = new URL("./fixtures/delayed-start.reactor.ts?millis=1000", import.meta.url)
    const client = ReactorThread.connect<typeof import("./fixtures/delayed-start.reactor.ts")>(url)
    try {
      // The start takes 1 s, past add's own 300 ms: the first call still answers.
      expect(client.call.add(1, 2)).toBe(3)
    } finally {
      client.shutdown()
    }
  })

  it("a crash releases the blocked caller with ReactorStopped naming the reason; the next call restarts", () => {
    const client = ReactorThread.connect<Demo>(demoUrl)
    const first = client.call.threadId()
    const error = thrown(() => client.call.crash())
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain("the reactor thread blew up")
    expect(error.message).toContain("The next call starts a new reactor thread")
    expect(client.call.add(1, 1)).toBe(2)
    expect(client.call.threadId()).not.toBe(first)
    client.shutdown()
  })

  describe("a thread that dies of an uncaught error: every released caller gets that error in its ReactorStopped's cause", () => {
    /** What a released caller must show of the error the thread died of. */
    const expectDiedOf = (error: any, check: (thrownInThread: any) => void) => {
      expect(error).toBeInstanceOf(ReactorStopped)
      const cause = causeOf(error)!
      expect(error.cause).toBe(cause)
      expect(Cause.hasDies(cause)).toBe(true)
      const thrownInThread = Cause.squash(cause) as Error
      check(thrownInThread)
      expect(thrownInThread.stack).toContain("demo.reactor.ts")
      // the thread's frames, then the caller's
      expect(error.stack.split("\n")[0]).toBe(`ReactorStopped: ${error.message}`)
      expect(error.stack).toContain("demo.reactor.ts")
      expect(error.stack).toContain("(in the reactor thread) called from")
      expect(error.stack).toContain("ReactorThread.test.ts")
    }

    it("thrown from a timer: its class (registered), fields, message and stack, for the blocked call and a pending handle", () => {
      const client = ReactorThread.connect<Demo>(demoUrl, { errors: [LookupError] })
      try {
        const pending = client.start.hang()
        const blocked = thrown(() => client.call.crashTyped())
        const check = (thrownInThread: any) => {
          expect(thrownInThread).toBeInstanceOf(LookupError)
          expect(thrownInThread._tag).toBe("LookupError")
          expect(thrownInThread.host).toBe("timer.test")
          expect(thrownInThread.message).toBe("thrown from a timer")
        }
        expectDiedOf(blocked, check)
        expect(blocked.message).toContain(
          "died (uncaught LookupError: thrown from a timer) while crashTyped() was waiting"
        )
        expectDiedOf(thrown(() => pending.wait()), check)
        // the next call starts a new thread
        expect(client.call.add(1, 2)).toBe(3)
      } finally {
        client.shutdown()
      }
    })

    it("thrown by an operation's own callback, outside Effect: a JavaScript error keeps its class unregistered", () => {
      const client = ReactorThread.connect<Demo>(demoUrl)
      try {
        const error = thrown(() => client.call.crashInCallback())
        expectDiedOf(error, (thrownInThread) => {
          expect(thrownInThread).toBeInstanceOf(TypeError)
          expect(thrownInThread.message).toBe("thrown in the operation's callback")
          expect(thrownInThread.stack).toContain("callbackOutsideEffect")
        })
      } finally {
        client.shutdown()
      }
    })

    it("while nobody waits: logged as a ReactorThreadWarning with the thread's stack; the next call starts a new thread", async () => {
      const client = ReactorThread.connect<Demo>(demoUrl)
      const warned = new Promise<Error>((resolve) => {
        const listener = (warning: Error) => {
          if (warning.name !== "ReactorThreadWarning" || !warning.message.includes("no call was waiting")) return
          process.off("warning", listener)
          resolve(warning)
        }
        process.on("warning", listener)
      })
      try {
        const first = client.call.threadId()
        client.call.crashLater(10) // answers at once; the timer throws 10 ms later
        const warning = await warned
        expect(warning.message).toContain("The reactor thread demo.reactor.ts died while no call was waiting")
        expect(warning.message).toContain("RangeError: thrown from a timer nobody waits for")
        expect(warning.message).toContain("timerThatThrows")
        expect(warning.message).toContain("demo.reactor.ts")
        expect(client.call.threadId()).not.toBe(first)
      } finally {
        client.shutdown()
      }
    })
  })

  it("a thread terminated because it did not shut down is named as such, not as out of memory", () => {
    const client = ReactorThread.connect<Demo>(demoUrl, { shutdownTimeout: "300 millis" })
    const pending = client.start.stuck()
    expect(client.call.add(1, 1)).toBe(2) // the stuck call is running
    const warned = new Promise<Error>((resolve) => process.once("warning", resolve))
    client.shutdown() // blocks 300 ms, then terminates the thread
    const error = thrown(() => pending.wait())
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain(
      "was shut down with client.shutdown() (it was terminated (worker.terminate()) because it did not shut down within 300ms"
    )
    expect(error.message).not.toContain("out of memory")
    return warned.then((warning) => expect(warning.message).toContain("did not shut down within 300ms"))
  })

  it("process.exit inside the reactor thread releases every waiter: blocked call and pending handles", () => {
    const client = ReactorThread.connect<Demo>(demoUrl)
    const pending = client.start.hang()
    const error = thrown(() => client.call.exit(7))
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain("exit code 7")
    expect(thrown(() => pending.wait())).toBeInstanceOf(ReactorStopped)
    expect(client.call.add(2, 2)).toBe(4)
    client.shutdown()
  })

  it("out of memory in the reactor thread releases the caller", () => {
    const client = ReactorThread.connect<Demo>(demoUrl, { resourceLimits: { maxOldGenerationSizeMb: 64 } })
    const error = thrown(() => client.call.oom())
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toMatch(/out of memory|ERR_WORKER_OUT_OF_MEMORY/)
    client.shutdown()
  })

  describe("a thread that dies while starting releases the blocked caller at once, not after startTimeout", () => {
    const dyingStart = new URL("./fixtures/dying-start.reactor.ts", import.meta.url)
    type DyingStart = typeof import("./fixtures/dying-start.reactor.ts")
    const startOf = (exportName: keyof DyingStart, options?: ReactorThread.ConnectOptions) =>
      thrown(() =>
        ReactorThread.connect<DyingStart[typeof exportName]>(dyingStart, {
          exportName,
          startTimeout: "1 hour",
          ...options
        }).call.ping()
      )

    it("process.exit in its layer: the exit code", () => {
      const error = startOf("exits")
      expect(error).toBeInstanceOf(ReactorThreadStartFailed)
      expect(error.message).toContain("died while starting (exit code 3")
    })

    it("an uncaught error: its name and message, and the error itself in cause", () => {
      const error = startOf("throws")
      expect(error).toBeInstanceOf(ReactorThreadStartFailed)
      expect(error.message).toContain("died while starting (uncaught Error: boom while starting)")
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause.message).toBe("boom while starting")
      expect(error.cause.stack).toContain("dying-start.reactor.ts")
    })

    it("out of memory under resourceLimits, where the thread says nothing: the supervisor watches from the start", () => {
      const error = startOf("outOfMemory", { resourceLimits: { maxOldGenerationSizeMb: 64 } })
      expect(error).toBeInstanceOf(ReactorThreadStartFailed)
      expect(error.message).toContain("most likely out of memory")
    })
  })

  it("a missing module is a clear ReactorThreadStartFailed", () => {
    const client = ReactorThread.connect<Demo>(new URL("./fixtures/no-such.reactor.ts", import.meta.url))
    const error = thrown(() => client.call.add(1, 2))
    expect(error).toBeInstanceOf(ReactorThreadStartFailed)
    expect(error.message).toContain("could not import")
    expect(error.message).toContain("no-such.reactor.ts")
    // the next call tries again, and fails the same way
    expect(thrown(() => client.call.add(1, 2))).toBeInstanceOf(ReactorThreadStartFailed)
  })

  it("a module without a definition is a clear ReactorThreadStartFailed", () => {
    const client = ReactorThread.connect<Demo>(new URL("./fixtures/no-definition.reactor.ts", import.meta.url))
    const error = thrown(() => client.ready())
    expect(error).toBeInstanceOf(ReactorThreadStartFailed)
    expect(error.message).toContain("ReactorThread.define")
    expect(error.message).toMatch(/ReactorThread\.define\(\{ layer, operations \}\)\. The next call tries again\.$/)
  })

  it("a failing layer is a ReactorThreadStartFailed carrying the layer's error", () => {
    const client = ReactorThread.connect<typeof import("./fixtures/failing-layer.reactor.ts")>(
      new URL("./fixtures/failing-layer.reactor.ts", import.meta.url)
    )
    const error = thrown(() => client.call.ping())
    expect(error).toBeInstanceOf(ReactorThreadStartFailed)
    expect(error.message).toContain("database unreachable")
    // `cause`, as in core's ReactorStartFailed (it was `error`)
    expect(error.cause).toBeInstanceOf(Error)
    expect(error.cause.message).toContain("database unreachable")
    expect(error).not.toHaveProperty("error")
  })

  it("after shutdown, calls fail fast with ReactorStopped", () => {
    const client = ReactorThread.connect<Demo>(demoUrl)
    expect(client.call.add(1, 1)).toBe(2)
    client.shutdown()
    client.shutdown()
    const error = thrown(() => client.call.add(1, 1))
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain("shutdown")
  })

  it("using client = ReactorThread.connect(...): the thread is shut down when the block ends, also when it throws", () => {
    let declared: BlockingClient.Client<ReactorThread.OperationsOf<Demo>> | undefined
    {
      using client = ReactorThread.connect<Demo>(demoUrl)
      declared = client
      expect(client.call.add(1, 1)).toBe(2)
    }
    expect(thrown(() => declared!.call.add(1, 1))).toBeInstanceOf(ReactorStopped)
    const blockError = thrown(() => {
      using client = ReactorThread.connect<Demo>(demoUrl)
      declared = client
      client.call.add(1, 1)
      throw new Error("the block failed")
    })
    expect(blockError.message).toBe("the block failed")
    const error = thrown(() => declared!.call.add(1, 1))
    expect(error).toBeInstanceOf(ReactorStopped)
    expect(error.message).toContain("shutdown")
  })
})
