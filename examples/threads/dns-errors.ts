/**
 * The typed failure of the DNS reactor, in its own module so that callers can
 * import the class (to get `instanceof`) without loading the reactor itself.
 */
import * as Data from "effect/Data"

export class LookupError extends Data.TaggedError("LookupError")<{
  readonly message: string
  readonly host: string
}> {}
