/**
 * bench/redis.ts's BullMQ peer: a Worker in a process of its own, as BullMQ
 * is deployed. Each job returns its `i` and the moment its work completed
 * (`performance.timeOrigin + performance.now()`; "clock" on stdin answers
 * that clock, for the bench to measure the offset between the processes').
 *   node bench/bullmq-worker.ts <redis port>
 */
import { Worker } from "bullmq"
import { createInterface } from "node:readline"

const port = Number(process.argv[2])
const worker = new Worker(
  "bench",
  async (job) => ({ i: job.data.i as number, completedAt: performance.timeOrigin + performance.now() }),
  { connection: { host: "127.0.0.1", port }, concurrency: 1 }
)
await worker.waitUntilReady()
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
const input = createInterface({ input: process.stdin })
input.on("line", (line) => {
  if (line === "clock") {
    process.stdout.write(`${JSON.stringify({ clock: performance.timeOrigin + performance.now() })}\n`)
  }
})
input.on("close", () => void worker.close().then(() => process.exit(0)))
