import { runAsWorker } from "synckit"

runAsWorker(async (value: unknown) => value)
