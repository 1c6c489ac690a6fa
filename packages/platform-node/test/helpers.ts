/** Runs `f` and returns what it threw (fails the test if it did not throw). */
export const thrown = (f: () => unknown): any => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected the call to throw")
}
