/**
 * Test helpers: a real `redis-server` on a free 127.0.0.1 port, and child
 * processes (fixtures) that talk in JSON lines.
 */
import { Reactor } from "@crochet/core"
import { RedisResultStore } from "@crochet/redis-store"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer, Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { createClient, createCluster } from "redis"
import { testOptions } from "./fixtures/options.ts"

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL) and waits for it to be gone. */
  readonly stop: () => Promise<void>
  /** Stops the server, saving its data (`SHUTDOWN SAVE`), runs `whileDown`, and starts it again on the same port with that data. */
  readonly restart: (whileDown?: () => Promise<void>) => Promise<void>
  /** Kills the server (SIGKILL: nothing saved) and starts it again on the same port, empty. */
  readonly restartEmpty: () => Promise<void>
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = new Socket()
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.connect(port, "127.0.0.1")
  })

interface Started {
  readonly child: ChildProcess
  readonly exited: Promise<void>
}

/** Servers still running: killed when this process exits, however it ends (a bench piped into `head`). */
const running = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL")
})

/** Spawns `redis-server` with `args` and waits until it accepts connections on `port` (10 s at most). */
export const spawnRedis = async (port: number, args: ReadonlyArray<string>): Promise<Started> => {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    ...args
  ], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  running.add(child)
  child.once("exit", () => running.delete(child))
  let failure: Error | undefined
  child.once("error", (error) => {
    failure = new Error(`could not start redis-server (apt-get install redis-server): ${error.message}`)
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (failure !== undefined) throw failure
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`)
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error("redis-server did not accept connections within 10 s")
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { child, exited }
}

/** Starts `redis-server` (on `port`, or a free one), its data in a fresh temporary directory; rejects if it is not up within 10 s. */
export const startRedis = async (port?: number): Promise<RedisServer> => {
  const at = port ?? await freePort()
  const dir = await mkdtemp(join(tmpdir(), "crochet-redis-"))
  let current = await spawnRedis(at, ["--dir", dir])
  const stop = async () => {
    if (current.child.exitCode === null && current.child.signalCode === null) current.child.kill("SIGKILL")
    await current.exited
  }
  return {
    port: at,
    url: `redis://127.0.0.1:${at}`,
    stop: async () => {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
    restart: async (whileDown) => {
      const client = createClient({ url: `redis://127.0.0.1:${at}`, socket: { reconnectStrategy: false } })
      client.on("error", () => undefined)
      await client.connect()
      await client.sendCommand(["SHUTDOWN", "SAVE"]).catch(() => undefined)
      if (client.isOpen) client.destroy()
      await current.exited
      await whileDown?.()
      current = await spawnRedis(at, ["--dir", dir])
    },
    restartEmpty: async () => {
      await stop()
      current = await spawnRedis(at, ["--dir", dir])
    }
  }
}

export interface RedisCluster {
  /** `cluster:<url>,<url>,<url>`: what the fixtures and `testOptions` take. */
  readonly target: string
  readonly urls: ReadonlyArray<string>
  /** Every node, masters and replicas, in start order. */
  readonly nodes: ReadonlyArray<ClusterNode>
  /** Kills every node (SIGKILL) and removes their files. */
  readonly stop: () => Promise<void>
}

/** One node of a test cluster: it can be killed and started again (with its cluster config, so with its slots). */
export interface ClusterNode {
  readonly port: number
  readonly url: string
  readonly address: string
  /** SIGKILL, and waits until it is gone. */
  readonly kill: () => Promise<void>
  /** Starts it again on the same port with its cluster config file (its data is not kept: no persistence). */
  readonly start: () => Promise<void>
}

/**
 * Starts a real Redis Cluster on free 127.0.0.1 ports: 3 masters, with
 * `replicas` replicas each (none by default), and `args` given to every node;
 * its files in a fresh temporary directory. Resolves once every node reports
 * `cluster_state:ok`.
 */
export const startCluster = async (
  { args = [], replicas = 0 }: { readonly args?: ReadonlyArray<string>; readonly replicas?: number } = {}
): Promise<RedisCluster> => {
  const dir = await mkdtemp(join(tmpdir(), "crochet-cluster-"))
  const ports: Array<number> = []
  for (let i = 0; i < 3 * (1 + replicas); i++) ports.push(await freePort())
  const started = new Map<number, Started>()
  const spawnNode = async (port: number) => {
    started.set(
      port,
      await spawnRedis(port, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
        ...args
      ])
    )
  }
  const kill = async (port: number) => {
    const node = started.get(port)
    if (node === undefined) return
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill("SIGKILL")
    await node.exited
  }
  const stop = async () => {
    await Promise.all(ports.map(kill))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await Promise.all(ports.map(spawnNode))
    await new Promise<void>((resolve, reject) => {
      const create = spawn("redis-cli", [
        "--cluster",
        "create",
        ...ports.map((port) => `127.0.0.1:${port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes"
      ], { stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      create.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk
      })
      create.once("error", reject)
      create.once(
        "exit",
        (code) => code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited ${code}: ${stderr}`))
      )
    })
    for (const port of ports) {
      const client = createClient({ url: `redis://127.0.0.1:${port}` })
      await client.connect()
      try {
        await eventually(async () =>
          (await client.sendCommand(["CLUSTER", "INFO"]) as string).includes("cluster_state:ok")
        )
      } finally {
        client.destroy()
      }
    }
  } catch (error) {
    await stop()
    throw error
  }
  const nodes = ports.map((port): ClusterNode => ({
    port,
    url: `redis://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    kill: () => kill(port),
    start: () => spawnNode(port)
  }))
  const urls = nodes.map((node) => node.url)
  return { target: `cluster:${urls.join(",")}`, urls, nodes, stop }
}

/**
 * Until the owner of `id` has written its record (a slow owner process would
 * otherwise be told apart from a dead one by timing). `target` as in `testOptions`.
 */
export const ownerStarted = async (target: string, id: string): Promise<void> => {
  const key = `crochet:{${id}}:r`
  const client = target.startsWith("cluster:")
    ? createCluster({ rootNodes: target.slice("cluster:".length).split(",").map((url) => ({ url })) })
    : createClient({ url: target })
  await client.connect()
  try {
    await eventually(async () => (await client.hGet(key, "state")) === "pending")
  } finally {
    client.destroy()
  }
}

/** A fixture in test/fixtures, run by this same Node (which runs .ts directly). */
export interface Fixture {
  readonly child: ChildProcess
  /** The next JSON line that matches, or a rejection after `timeout` ms. */
  readonly next: (predicate?: (message: any) => boolean, timeout?: number) => Promise<any>
  readonly exited: Promise<number | null>
  readonly send: (line: string) => void
}

export const fixture = (name: string, args: ReadonlyArray<string>): Fixture => {
  const file = fileURLToPath(new URL(`fixtures/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, [file, ...args], { stdio: ["pipe", "pipe", "pipe"] })
  const messages: Array<any> = []
  const waiters = new Set<() => void>()
  let buffer = ""
  let stderr = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk
    let newline
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      try {
        messages.push(JSON.parse(line))
      } catch {
        messages.push({ text: line })
      }
    }
    for (const waiter of waiters) waiter()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      for (const waiter of waiters) waiter()
      resolve(code)
    })
  )
  const next = (predicate: (message: any) => boolean = () => true, timeout = 15_000) =>
    new Promise<any>((resolve, reject) => {
      const check = () => {
        const index = messages.findIndex(predicate)
        if (index >= 0) {
          done()
          resolve(messages.splice(index, 1)[0])
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done()
          reject(
            new Error(
              `fixture ${name} exited (${
                child.exitCode ?? child.signalCode
              }) without the expected line; stderr:\n${stderr}`
            )
          )
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(
          new Error(
            `fixture ${name}: no expected line within ${timeout} ms; got ${
              JSON.stringify(messages)
            }; stderr:\n${stderr}`
          )
        )
      }, timeout)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  return { child, next, exited, send: (line) => child.stdin!.write(`${line}\n`) }
}

/**
 * Polls `condition` every 20 ms until it holds; rejects after `timeout` ms. A probe that throws counts
 * as "not yet" (the test's own client reading a key while a slot moves can get "Too many Cluster
 * redirections" from nodes that do not agree yet); the last such error is the rejection's cause.
 */
export const eventually = async (condition: () => boolean | Promise<boolean>, timeout = 10_000): Promise<void> => {
  const deadline = Date.now() + timeout
  let lastError: unknown
  for (;;) {
    try {
      if (await condition()) return
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`, { cause: lastError })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * The two sides of the cross-process tests against one Redis (a server's URL,
 * or a cluster's root node): reactors with stores of their own here, owner
 * processes there, and what to clean up after the file.
 */
export const crossProcess = (target: () => string) => {
  const cleanups: Array<() => Promise<unknown>> = []
  /** A reactor with its own store (its own connection), as a separate process would have. */
  const reactorWithStore = (options: RedisResultStore.Options = testOptions(target())) => {
    const store = RedisResultStore.make(options)
    // A fresh layer object per reactor: `setup` shares reactors set up with the same layer.
    const reactor = Reactor.setup(Layer.effectDiscard(Effect.void), { resultStore: store, logLevel: "None" })
    cleanups.push(() => reactor.shutdown().then(() => store.close()))
    return { reactor, store }
  }
  /** An owner process that stashes one result (`mode` says which) and reports its id. */
  const owner = async (mode: string): Promise<{ readonly id: string; readonly process: Fixture }> => {
    const process = fixture("owner", [target(), mode])
    cleanups.push(async () => {
      process.child.kill("SIGKILL")
      await process.exited
    })
    const { id } = await process.next((message) => "id" in message)
    return { id, process }
  }
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    cleanups.length = 0
  }
  return { cleanups, cleanUp, owner, reactorWithStore }
}

/** A work whose end the test decides: `open(value)` completes it. */
export const latch = <A>() => {
  let open!: (value: A) => void
  const promise = new Promise<A>((resolve) => {
    open = resolve
  })
  return { effect: Effect.promise(() => promise), open }
}

/** The rejection of a promise that must reject; fails the test if it resolves. */
export const rejection = (promise: Promise<unknown>): Promise<any> =>
  promise.then((value) => {
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
  }, (error) => error)
