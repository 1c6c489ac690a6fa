// Before: the worker synckit runs.
import { runAsWorker } from "synckit"
import { format } from "./format.js"

runAsWorker(format)
