/**
 * The operations the thread soak (`soak/threads.ts`) calls, served by a
 * reactor thread (`threads.reactor.ts`) and by a MainThreadBridge.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** The typed failure of `fail(n)`; registered with the clients so that it comes back as this class. */
export class Expected extends Data.TaggedError("Expected")<{ readonly n: number }> {}

export const operations = {
  ok: (n: number) => Effect.succeed(n),
  okAsync: (n: number) => Effect.yieldNow.pipe(Effect.as(n)),
  fail: (n: number) => Effect.fail(new Expected({ n })),
  hang: () => Effect.never
}
