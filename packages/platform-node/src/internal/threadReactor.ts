/**
 * A reactor thread as its clients see it: started in a worker thread (beside
 * a supervisor thread that watches it), started again on the next call after
 * it died, shut down on `client.shutdown()` or at process exit.
 */
import { ReactorStopped } from "@crochet/core/Errors"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads"
import { ReactorThreadStartFailed } from "../Errors.ts"
import { checkNotReactorThread, Link, type RemoteReactor } from "./client.ts"
import { decodeValue } from "./codec.ts"
import * as LiveThreads from "./liveThreads.ts"
import { formatMillis } from "./options.ts"
import * as Protocol from "./protocol.ts"

export interface ThreadSettings {
  readonly exportName: string
  readonly startTimeout: number
  readonly shutdownTimeout: number
  readonly reactorSpin: number
  readonly reactorBusy: number
  readonly resourceLimits: { readonly [key: string]: number } | undefined
}

/**
 * Whether a launch is still the one to use: starting, ready (it may have become
 * ready a moment ago), or failed to start and nobody has been told yet (an eager start).
 */
const stillCurrent = (link: Link): boolean => {
  link.drain()
  const status = link.status
  return status === Protocol.Launching || status === Protocol.Ready || status === Protocol.StartFailed ||
    (status === Protocol.Dead && link.info === undefined)
}

/** One launch of a reactor thread: replaced after it dies. */
interface Launch {
  readonly link: Link
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
  private launch: Launch | undefined
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

  acquire(deadline?: number): Link | undefined {
    const launch = this.launch
    if (launch !== undefined && launch.link.status === Protocol.Ready) {
      // Started in the background (eager): read its "ready" message once, and have it watched.
      if (launch.link.info === undefined) {
        launch.link.drain()
        this.watch(launch)
      }
      return launch.link
    }
    if (launch !== undefined && LiveThreads.stoppedForExit(launch.link.state)) this.stopped ??= "exit"
    if (this.stopped !== undefined) throw this.stoppedError()
    checkNotReactorThread()
    let current = launch
    if (current === undefined || !stillCurrent(current.link)) {
      // None yet, or the last one died: start a (new) thread. The dead one's
      // port stays open so that handles can still read replies sent before the end.
      current = this.spawn()
    }
    const link = current.link
    const startDeadline = performance.now() + this.settings.startTimeout
    link.awaitStart(deadline === undefined ? startDeadline : Math.min(deadline, startDeadline))
    switch (link.status) {
      case Protocol.Ready:
        this.watch(current)
        return link
      case Protocol.Launching:
        // The call's own deadline came first: the thread goes on starting for the next call.
        if (deadline !== undefined && deadline < startDeadline) return undefined
        this.discard(current, true)
        throw this.startFailed(
          `did not start within ${formatMillis(this.settings.startTimeout)} (raise startTimeout if its layer is slow)`,
          undefined
        )
      case Protocol.StartFailed: {
        this.discard(current, false)
        const failure = link.startFailure
        throw this.startFailed(
          failure?.message ?? "failed to start",
          failure?.error === undefined ? undefined : decodeValue(failure.error, new Map())
        )
      }
      default:
        this.discard(current, false)
        throw this.startFailed(`died while starting (${link.death ?? "no reason given"})`, undefined)
    }
  }

  /** Spawns the thread without waiting for it (the `eager` option). */
  startInBackground(): void {
    if (this.launch !== undefined) return
    try {
      this.spawn()
    } catch {
      // A broken install: the first call tries again and throws the reason.
    }
  }

  private startFailed(why: string, error: unknown): ReactorThreadStartFailed {
    return new ReactorThreadStartFailed({
      module: this.url.href,
      error,
      message: `The ${this.label} could not start: ${why}. The next call tries again.`
    })
  }

  private stoppedError(): ReactorStopped {
    return new ReactorStopped({
      message: this.stopped === "exit"
        ? `The ${this.label} was shut down because the process is ending (a signal under NodeReactor, ` +
          "or the main thread's exit); no new reactor thread starts."
        : `The ${this.label} was shut down with client.shutdown(); a shutdown is final. ` +
          "Connect again (ReactorThread.connect) to start a new thread."
    })
  }

  goneError(link: Link, operation: string): Error {
    link.drain()
    if (link.status === Protocol.Dead) {
      return new ReactorStopped({
        message: `The ${this.label} died (${link.death ?? "no reason given"}) while ${operation}() was waiting, ` +
          "so its work is lost. The next call starts a new reactor thread."
      })
    }
    if (LiveThreads.stoppedForExit(link.state)) this.stopped ??= "exit"
    return this.stoppedError()
  }

  private spawn(): Launch {
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
          busyMillis: this.settings.reactorBusy
        },
        transferList: [data.port2, lifeline.port2],
        ...(resourceLimits !== undefined ? { resourceLimits } : {})
      })
    } catch (error) {
      throw this.startFailed(`its thread could not be created: ${(error as Error)?.message ?? error}`, error)
    }
    const link = new Link(new Int32Array(buffer), data.port1, control.port1)
    reactor.on("error", (error) => {
      // Seen only while this thread is not blocked: more precise than "ended without a word".
      link.death = error instanceof Error
        ? `${(error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY" ? "out of memory:" : "uncaught"} ${error.name}: ${error.message}`
        : `uncaught ${String(error)}`
    })
    reactor.unref()
    data.port1.unref()
    control.port1.unref()
    link.notifyRequests = this.settings.reactorSpin > 0
    const launch: Launch = { link, reactor, supervisor: undefined, watch: { supervisorModule, control: control.port2, lifeline: lifeline.port1 } }
    // Under resourceLimits, running out of memory while starting is likely: watch from the start.
    if (resourceLimits !== undefined) this.watch(launch)
    this.launch = launch
    LiveThreads.track(this, link.state, this.label, this.settings.shutdownTimeout)
    return launch
  }

  /**
   * Starts the supervisor thread that watches a launch (`supervisor.ts`), once: when the
   * reactor thread is ready, so that the two start-ups do not compete for the cores.
   */
  private watch(launch: Launch): void {
    const pending = launch.watch
    if (pending === undefined) return
    launch.watch = undefined
    const { link, reactor } = launch
    const unwatched = (reason: string) => {
      void reactor.terminate()
      if (link.status === Protocol.Launching || link.status === Protocol.Ready) {
        link.death ??= reason
        Protocol.setState(link.state, Protocol.Dead)
      }
    }
    try {
      launch.supervisor = new Worker(pending.supervisorModule, {
        workerData: {
          buffer: link.state.buffer,
          control: pending.control,
          lifeline: pending.lifeline,
          limited: this.settings.resourceLimits !== undefined
        },
        transferList: [pending.control, pending.lifeline]
      })
    } catch {
      // Node refuses to hand over a lifeline that has closed: the reactor thread is gone.
      return unwatched("it ended without a word (out of memory?)")
    }
    launch.supervisor.on("error", (error) =>
      // It can only fail by not loading: the reactor thread would go unwatched.
      unwatched(
        `its supervisor thread (${pending.supervisorModule.href}) failed to load: ${
          error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        }`
      ))
    launch.supervisor.unref()
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

  private discard(launch: Launch, terminate: boolean): void {
    if (terminate) {
      void launch.reactor.terminate()
      void launch.supervisor?.terminate()
    }
    launch.link.port.close()
    launch.link.control?.close()
    if (this.launch === launch) this.launch = undefined
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
    const launch = this.launch
    if (launch === undefined) return undefined
    const link = launch.link
    if (!running(link.state)) {
      this.discard(launch, true)
      return undefined
    }
    try {
      link.port.postMessage([Protocol.Shutdown])
    } catch {
      // already closed
    }
    return {
      state: link.state,
      deadline: performance.now() + this.settings.shutdownTimeout,
      finish: (atExit) => {
        if (running(link.state)) {
          LiveThreads.report(LiveThreads.overrun(this.label, this.settings.shutdownTimeout, true), atExit)
        }
        this.discard(launch, true)
      }
    }
  }
}

const running = (state: Int32Array): boolean => {
  const status = Atomics.load(state, Protocol.STATE)
  return status === Protocol.Ready || status === Protocol.Launching
}
