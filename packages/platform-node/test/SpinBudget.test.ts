import { describe, expect, it } from "vitest"
import { SpinBudget } from "../src/internal/protocol.ts"

const spins = (budget: SpinBudget, times: number) => Array.from({ length: times }, () => budget.shouldSpin())

describe("SpinBudget (adaptive spinning of the low-latency mode)", () => {
  it("spins every time while spinning pays", () => {
    const budget = new SpinBudget()
    for (let i = 0; i < 5; i++) {
      expect(budget.shouldSpin()).toBe(true)
      budget.paid()
    }
  })

  it("after a wasted spin skips the next 1, 2, 4 ... spins, up to 64", () => {
    const budget = new SpinBudget()
    for (const skip of [1, 2, 4, 8, 16, 32, 64, 64]) {
      budget.wasted()
      expect(spins(budget, skip + 1)).toEqual([...Array(skip).fill(false), true])
    }
  })

  it("a spin that pays resets the backoff", () => {
    const budget = new SpinBudget()
    budget.wasted()
    budget.shouldSpin()
    budget.wasted()
    expect(spins(budget, 2)).toEqual([false, false])
    expect(budget.shouldSpin()).toBe(true)
    budget.paid()
    budget.wasted()
    expect(spins(budget, 2)).toEqual([false, true])
  })
})
