/**
 * A reactor thread as its clients see it: started in a worker thread (beside
 * a supervisor thread that watches it), started again on the next call after
 * it died, shut down on `client.shutdown()` or at process exit.
 */
import { ReactorStopped } from "@crochet/core/Errors"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { isMainThread, MessageChannel, type MessagePort, Worker } from "node:worker_threads"
import { ReactorThreadStartFailed } from "../Errors.ts"
import { checkNotReactorThread, type RemoteReactor } from "./client.ts"
import { decodeThrown, errorClasses } from "./codec.ts"
import { Endpoint } from "./endpoint.ts"
import * as LiveThreads from "./liveThreads.ts"
import { formatMillis } from "./options.ts"
import * as Protocol from "./protocol.ts"

/** What a start failure or a thread's death is rebuilt as: the toolkit's errors and JavaScript's (a module's SyntaxError). */
const startFailureClasses = errorClasses(undefined, "")

export interface ThreadSettings {
  readonly exportName: string
  readonly startTimeout: number
  readonly shutdownTimeout: number
  readonly reactorSpin: number
  readonly busyPoll: number
  readonly resourceLimits: { readonly [key: string]: number } | undefined
}

/**
 * Whether a thread is still the one to use: starting, ready (it may have become
 * ready a moment ago), or failed to start and nobody has been told yet (an eager start).
 */
const stillCurrent = (endpoint: Endpoint): boolean => {
  endpoint.drain()
  const status = endpoint.status
  return status === Protocol.Starting || status === Protocol.Ready || status === Protocol.StartFailed ||
    (status === Protocol.Dead && endpoint.info === undefined)
}

/** One start of a reactor thread: replaced by a new one after it dies. */
interface Thread {
  readonly endpoint: Endpoint
  readonly reactor: Worker
  /** The thread that watches it, once started (see `watch`). */
  supervisor: Worker | undefined
  /** What the supervisor is given when it starts. */
  watch: { readonly supervisorModule: URL; readonly control: MessagePort; readonly lifeline: MessagePort } | undefined
}

export class ThreadReactor implements RemoteReactor, LiveThreads.OwnThread {
  readonly label: string
  private readonly url: URL
  private readonly settings: ThreadSettings
  private thread: Thread | undefined
  /** Who stopped it for good: `client.shutdown()`, or the end of the process. */
  private stopped: "client" | "exit" | undefined

  constructor(url: URL, label: string, settings: ThreadSettings) {
    this.url = url
    this.label = label
    this.settings = settings
  }

  checkThread(): void {
    checkNotReactorThread()
  }

  acquire(deadline?: number): Endpoint | undefined {
    const thread = this.thread
    if (thread !== undefined && thread.endpoint.status === Protocol.Ready) {
      // Started in the background (eager): read its "ready" message once.
      if (thread.endpoint.info === undefined) thread.endpoint.drain()
      return thread.endpoint
    }
    if (thread !== undefined && LiveThreads.stoppedForExit(thread.endpoint.state)) this.stopped ??= "exit"
    if (this.stopped !== undefined) throw this.stoppedError()
    checkNotReactorThread()
    let current = thread
    if (current === undefined || !stillCurrent(current.endpoint)) {
      // None yet, or the last one died: start a (new) thread. The dead one's
      // port stays open so that handles can still read replies sent before the end.
      current = this.startThread()
    }
    const endpoint = current.endpoint
    const startDeadline = performance.now() + this.settings.startTimeout
    endpoint.awaitStart(deadline === undefined ? startDeadline : Math.min(deadline, startDeadline))
    switch (endpoint.status) {
      case Protocol.Ready:
        return endpoint
      case Protocol.Starting:
        // The call's own deadline came first: the thread goes on starting for the next call.
        if (deadline !== undefined && deadline < startDeadline) return undefined
        this.discard(current, `it did not start within ${formatMillis(this.settings.startTimeout)} (startTimeout)`)
        throw this.startFailed(
          `did not start within ${formatMillis(this.settings.startTimeout)} (raise startTimeout if its layer is slow)`,
          undefined
        )
      case Protocol.StartFailed: {
        this.discard(current, undefined)
        const failure = endpoint.startFailure
        throw this.startFailed(
          failure?.message ?? "failed to start",
          failure?.error === undefined ? undefined : decodeThrown(failure.error, startFailureClasses)
        )
      }
      default:
        this.discard(current, undefined)
        endpoint.deathReported = true
        throw this.startFailed(
          `died while starting (${endpoint.death ?? "no reason given"})`,
          endpoint.deathError === undefined ? undefined : decodeThrown(endpoint.deathError, startFailureClasses)
        )
    }
  }

  /** Starts the thread without waiting for it (the `eager` option). */
  start(): void {
    if (this.thread !== undefined) return
    try {
      this.startThread()
    } catch {
      // A broken install: the first call tries again and throws the reason.
    }
  }

  private startFailed(why: string, cause: unknown): ReactorThreadStartFailed {
    return new ReactorThreadStartFailed({
      module: this.url.href,
      cause,
      // `why` may end a sentence of its own (a module's message): one full stop.
      message: `The ${this.label} could not start: ${why.replace(/\.$/, "")}. The next call tries again.`
    })
  }

  /** `how`: how the shutdown ended, when not as asked (the thread was terminated). */
  private stoppedError(how?: string): ReactorStopped {
    const ended = how === undefined ? "" : ` (${how})`
    return new ReactorStopped({
      message: this.stopped === "exit"
        ? `The ${this.label} was shut down because the process is ending (a signal under NodeReactor, ` +
          `or the main thread's exit)${ended}; no new reactor thread starts.`
        : `The ${this.label} was shut down with client.shutdown()${ended}; a shutdown is final. ` +
          "Connect again (ReactorThread.connect) to start a new thread."
    })
  }

  goneError(endpoint: Endpoint, operation: string): Error {
    endpoint.drain()
    if (this.stopped !== undefined) return this.stoppedError(endpoint.death)
    if (endpoint.status === Protocol.Dead) {
      return new ReactorStopped({
        message: `The ${this.label} died (${endpoint.death ?? "no reason given"}) while ${operation}() was waiting, ` +
          "so its work is lost. The next call starts a new reactor thread."
      })
    }
    if (LiveThreads.stoppedForExit(endpoint.state)) this.stopped ??= "exit"
    return this.stoppedError()
  }

  private startThread(): Thread {
    const buffer = new SharedArrayBuffer(Protocol.slots * Int32Array.BYTES_PER_ELEMENT)
    const data = new MessageChannel()
    const control = new MessageChannel()
    const lifeline = new MessageChannel()
    const reactorModule = this.entryModule("./reactorWorker", "reactor thread")
    const supervisorModule = this.entryModule("./supervisor", "supervisor")
    const { resourceLimits } = this.settings
    let reactor: Worker
    try {
      reactor = new Worker(reactorModule, {
        workerData: {
          module: this.url.href,
          exportName: this.settings.exportName,
          port: data.port2,
          lifeline: lifeline.port2,
          buffer,
          spinMillis: this.settings.reactorSpin,
          busyMillis: this.settings.busyPoll,
          // Connected from a worker thread: the main thread asks it to stop at the end (`liveThreads.ts`).
          stopsAtMainExit: !isMainThread
        },
        transferList: [data.port2, lifeline.port2],
        ...(resourceLimits !== undefined ? { resourceLimits } : {})
      })
    } catch (error) {
      throw this.startFailed(`its thread could not be created: ${(error as Error)?.message ?? error}`, error)
    }
    const endpoint = new Endpoint(new Int32Array(buffer), data.port1, control.port1)
    reactor.on("error", (error) => {
      endpoint.drain() // the thread's own word, if it said one
      // Seen only while this thread is not blocked: Node's word for a death that runs no code
      // in the thread, more precise than the supervisor's "without running any code of its own".
      if ((error as { code?: unknown } | null)?.code === "ERR_WORKER_OUT_OF_MEMORY") {
        endpoint.death = `out of memory: ${Protocol.describeThrown(error)}`
      } else {
        endpoint.death ??= `uncaught ${Protocol.describeThrown(error)}`
      }
      this.reportUnheard(endpoint, error)
    })
    reactor.unref()
    data.port1.unref()
    control.port1.unref()
    endpoint.notifyRequests = this.settings.reactorSpin > 0
    const thread: Thread = {
      endpoint,
      reactor,
      supervisor: undefined,
      watch: { supervisorModule, control: control.port2, lifeline: lifeline.port1 }
    }
    // Under resourceLimits, running out of memory while starting is likely: watch from the start.
    if (resourceLimits !== undefined) this.startSupervisor(thread)
    this.thread = thread
    LiveThreads.track(this, endpoint.state, this.label, this.settings.shutdownTimeout)
    return thread
  }

  /**
   * A death no caller was released with (none was waiting): a `ReactorThreadWarning`
   * with the error's stack, so that it is not lost. (The next call starts a new thread.)
   */
  private reportUnheard(endpoint: Endpoint, error: unknown): void {
    if (endpoint.deathReported || this.stopped !== undefined) return
    endpoint.deathReported = true
    const thrown = endpoint.deathError === undefined ? error : decodeThrown(endpoint.deathError, startFailureClasses)
    const stack = thrown instanceof Error && typeof thrown.stack === "string"
      ? thrown.stack
      : Protocol.describeThrown(thrown)
    process.emitWarning(
      `The ${this.label} died while no call was waiting (${endpoint.death}); the next call starts a new thread.\n${stack}`,
      "ReactorThreadWarning"
    )
  }

  watch(): void {
    if (this.thread !== undefined) this.startSupervisor(this.thread)
  }

  /**
   * Starts the supervisor thread that watches a reactor thread (`supervisor.ts`), once:
   * when the reactor thread is ready and the first call was sent, or at `ready()` (see `RemoteReactor.watch`),
   * so that the two start-ups do not compete for the cores, and the first call's answer
   * does not wait for the supervisor's `new Worker`.
   */
  private startSupervisor(thread: Thread): void {
    const pending = thread.watch
    if (pending === undefined) return
    thread.watch = undefined
    const { endpoint, reactor } = thread
    const unwatched = (reason: string) => {
      endpoint.death ??= reason
      void reactor.terminate()
      if (endpoint.serving) Protocol.setState(endpoint.state, Protocol.Dead)
    }
    try {
      thread.supervisor = new Worker(pending.supervisorModule, {
        workerData: {
          buffer: endpoint.state.buffer,
          control: pending.control,
          lifeline: pending.lifeline,
          limited: this.settings.resourceLimits !== undefined
        },
        transferList: [pending.control, pending.lifeline]
      })
    } catch {
      // Node refuses to hand over a lifeline that has closed: the reactor thread is gone.
      return unwatched("it ended without running any code of its own: worker.terminate(), or out of memory")
    }
    thread.supervisor.on("error", (error) =>
      // It can only fail by not loading: the reactor thread would go unwatched.
      unwatched(
        `it was terminated, since its supervisor thread (${pending.supervisorModule.href}) failed to load: ${
          Protocol.describeThrown(error)
        }`
      ))
    thread.supervisor.unref()
  }

  /**
   * The URL of a worker entry module of this package. A caller may block right away, and
   * a blocked thread never sees a Worker's `error` event: find a missing one (a broken
   * install) before that.
   */
  private entryModule(path: string, what: string): URL {
    const url = Protocol.entryModule(path, import.meta.url)
    if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
      throw this.startFailed(
        `its ${what} module ${fileURLToPath(url)} is missing (is @crochet/platform-node installed whole? Reinstall it)`,
        undefined
      )
    }
    return url
  }

  /** Lets a thread go; `terminate`: why it is terminated, if it still runs. */
  private discard(thread: Thread, terminate: string | undefined): void {
    if (terminate !== undefined) {
      const { endpoint } = thread
      // Said before the supervisor would see it end without a word.
      if (endpoint.serving) endpoint.death ??= `it was terminated (worker.terminate()) because ${terminate}`
      void thread.reactor.terminate()
      void thread.supervisor?.terminate()
      if (endpoint.serving) Protocol.setState(endpoint.state, Protocol.Dead)
    }
    thread.endpoint.port.close()
    thread.endpoint.control?.close()
    if (this.thread === thread) this.thread = undefined
    LiveThreads.untrack(this)
  }

  /** `client.shutdown()`: stops the thread, waiting up to shutdownTimeout. */
  shutdown(): void {
    const stopping = this.stop("client")
    if (stopping === undefined) return
    LiveThreads.awaitStop(stopping.state, stopping.deadline)
    stopping.finish(false)
  }

  /** Stops it for good and asks the thread to stop (see `LiveThreads.OwnThread`). */
  stop(why: "client" | "exit"): LiveThreads.Stopping | undefined {
    if (this.stopped !== undefined) return undefined
    this.stopped = why
    const thread = this.thread
    if (thread === undefined) return undefined
    const endpoint = thread.endpoint
    if (!running(endpoint.state)) {
      this.discard(thread, "it was shut down")
      return undefined
    }
    try {
      endpoint.port.postMessage([Protocol.Shutdown])
    } catch {
      // already closed
    }
    return {
      state: endpoint.state,
      deadline: performance.now() + this.settings.shutdownTimeout,
      finish: (atExit) => {
        if (running(endpoint.state)) {
          LiveThreads.report(LiveThreads.overrun(this.label, this.settings.shutdownTimeout, true), atExit)
        }
        // The reason counts only if it still runs: it overran.
        this.discard(
          thread,
          `it did not shut down within ${formatMillis(this.settings.shutdownTimeout)} (shutdownTimeout)`
        )
      }
    }
  }
}

const running = (state: Int32Array): boolean => {
  const status = Atomics.load(state, Protocol.STATE)
  return status === Protocol.Ready || status === Protocol.Starting
}
