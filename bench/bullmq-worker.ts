/**
 * bench/redis.ts's BullMQ peer: a Worker in a process of its own, as BullMQ
 * is deployed. Each job returns its `i` and the moment its work completed
 * (`performance.timeOrigin + performance.now()`, comparable across processes
 * of one machine).
 *   node bench/bullmq-worker.ts <redis port>
 */
import { Worker } from "bullmq"

const port = Number(process.argv[2])
const worker = new Worker(
  "bench",
  async (job) => ({ i: job.data.i as number, completedAt: performance.timeOrigin + performance.now() }),
  { connection: { host: "127.0.0.1", port }, concurrency: 1 }
)
await worker.waitUntilReady()
process.stdout.write("ready\n")
process.stdin.on("end", () => void worker.close().then(() => process.exit(0)))
process.stdin.resume()
