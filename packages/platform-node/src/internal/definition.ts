/**
 * The brand of a reactor module's definition, apart from `ReactorThread.ts`
 * so that the reactor thread can recognise a definition without loading the
 * client.
 */

/** The key that marks a `ReactorThread.Definition`. */
export const DefinitionTypeId: unique symbol = Symbol.for("@crochet/platform-node/ReactorThread/Definition") as never

/** Whether a value was made by `ReactorThread.define`. */
export const isDefinition = (value: unknown): boolean =>
  typeof value === "object" && value !== null && DefinitionTypeId in value
