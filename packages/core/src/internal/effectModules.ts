/**
 * The modules of Effect that only a failure (or a duration) needs, loaded on
 * first use. `effect/Cause` loads Effect's whole runtime (about 100 ms in a
 * fresh process), and a bridge's calling side imports `Errors.ts` and
 * `Bridge.ts` without running any Effect: so that importing them and a
 * successful call stay lean, nothing here is imported statically. A reactor provides the modules when it loads
 * (it imports them anyway); elsewhere the first failure loads them with a
 * synchronous `require`. Node (≥ 22.12), Bun and Deno keep one module cache
 * for `import` and `require`, so these are the very modules (and classes,
 * such as `Cause.TimeoutError`) that the user's `import` gets.
 */
import type * as CauseModule from "effect/Cause"
import type * as ContextModule from "effect/Context"
import type * as DurationModule from "effect/Duration"

export interface EffectModules {
  readonly Cause: typeof CauseModule
  readonly Context: typeof ContextModule
  readonly Duration: typeof DurationModule
}

let modules: EffectModules | undefined

/** Hands over the modules from a module that imports them anyway (no `require` needed then). */
export const provide = (given: EffectModules): void => {
  modules ??= given
}

/** The modules: provided, or loaded now. */
export const effectModules = (): EffectModules => modules ??= load()

const load = (): EffectModules => {
  const nodeModule = (globalThis as {
    readonly process?: { readonly getBuiltinModule?: (id: string) => typeof import("node:module") | undefined }
  }).process?.getBuiltinModule?.("node:module")
  if (nodeModule === undefined) {
    throw new Error(
      "@crochet/core needs effect/Cause to build this error, and this runtime can neither provide it (no reactor " +
        "was loaded here) nor load it synchronously (no process.getBuiltinModule). Import @crochet/core/Reactor " +
        "once in this program."
    )
  }
  const require = nodeModule.createRequire(import.meta.url)
  return {
    Cause: require("effect/Cause") as typeof CauseModule,
    Context: require("effect/Context") as typeof ContextModule,
    Duration: require("effect/Duration") as typeof DurationModule
  }
}
