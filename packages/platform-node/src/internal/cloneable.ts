/**
 * What structured clone would change without saying so. It copies a class
 * instance as a plain object: the class and its methods are silently lost
 * (`new Point(3, 4)` arrives as `{ x: 3, y: 4 }`). The bridges refuse such a
 * value instead, with `NotCloneable`. No imports: the caller's side stays lean.
 */

/** The name of the first class instance with methods found in `value` (nested in objects, arrays, Maps, Sets). */
export const classInstanceIn = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  try {
    return search(value, 0, undefined)
  } catch {
    // A getter threw: structured clone will refuse the value and say why.
    return undefined
  }
}

/** Below this depth values are not tracked: a cycle only costs a few levels before it is caught. */
const untrackedDepth = 16

/** Walks without allocating for the usual small, flat arguments (this runs on every call). */
const search = (value: object, depth: number, seen: Set<object> | undefined): string | undefined => {
  if (depth >= untrackedDepth) {
    seen ??= new Set()
    if (seen.has(value)) return undefined
    seen.add(value)
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child = value[i]
      if (typeof child === "object" && child !== null) {
        const found = search(child, depth + 1, seen)
        if (found !== undefined) return found
      }
    }
    return undefined
  }
  if (value instanceof Map || value instanceof Set) {
    for (const child of value instanceof Map ? [...value.keys(), ...value.values()] : value.values()) {
      if (typeof child === "object" && child !== null) {
        const found = search(child, depth + 1, seen)
        if (found !== undefined) return found
      }
    }
    return undefined
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) {
    if (builtin(value)) return undefined
    const name = methodsOf(prototype)
    if (name !== undefined) return name
  }
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key]
    if (typeof child === "object" && child !== null) {
      const found = search(child, depth + 1, seen)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** Values structured clone knows how to copy as what they are. */
const builtin = (value: object): boolean =>
  value instanceof Error || value instanceof Date || value instanceof RegExp || value instanceof ArrayBuffer ||
  ArrayBuffer.isView(value) || value instanceof Boolean || value instanceof Number || value instanceof String ||
  (typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer) ||
  (typeof Blob !== "undefined" && value instanceof Blob)

/** The class name when the prototype chain (below Object.prototype) defines anything besides constructors. */
const methodsOf = (prototype: object): string | undefined => {
  for (
    let current: object | null = prototype;
    current !== null && current !== Object.prototype;
    current = Object.getPrototypeOf(current)
  ) {
    for (const key of Reflect.ownKeys(current)) {
      if (key !== "constructor") {
        const constructor = (prototype as { readonly constructor?: { readonly name?: unknown } }).constructor
        return typeof constructor?.name === "string" && constructor.name !== ""
          ? constructor.name
          : "an anonymous class"
      }
    }
  }
  return undefined
}
