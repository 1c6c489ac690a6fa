/** The typed failure of the bench's reactor (bench/echo.reactor.ts), registered by its callers. */
import * as Data from "effect/Data"

export class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string; readonly n: number }> {}
