/**
 * The cross-process scenarios every Redis deployment must pass, run by the
 * single-server suite and the Redis Cluster suite alike: process A (a child)
 * stashes, this process retrieves, waits, cancels or outlives A.
 */
import { causeOf, ResultNotFound } from "@crochet/core"
import { OwnerLost } from "@crochet/redis-store"
import * as Cause from "effect/Cause"
import { expect, it } from "vitest"
import { type crossProcess, fixture, ownerStarted, rejection } from "./helpers.ts"

export const crossProcessScenarios = (
  target: () => string,
  { owner, reactorWithStore }: ReturnType<typeof crossProcess>
) => {
  it("a value stashed in process A is retrieved and waited for here", async () => {
    const a = await owner("success")
    const { reactor } = reactorWithStore()
    const value = await reactor.retrieve(a.id).wait({ timeout: "10 seconds" })
    expect(value).toEqual({ from: "owner", pid: a.process.child.pid })
  }, 20_000)

  it("poll() is undefined while A works, then gives A's Exit; waits are repeatable", async () => {
    const a = await owner("slow")
    const { reactor } = reactorWithStore()
    const result = reactor.retrieve(a.id)
    expect(result.poll()).toBeUndefined()
    expect(await result.wait({ timeout: "10 seconds" })).toBe("slow done")
    expect(result.poll()).toMatchObject({ _tag: "Success", value: "slow done" })
    expect(await result.wait()).toBe("slow done")
    expect(result.originalFailure()).toBeUndefined()
  }, 20_000)

  it("a failure keeps its _tag, message, fields and A's span trace; originalFailure() has the Cause", async () => {
    const a = await owner("fail")
    const { reactor } = reactorWithStore()
    const result = reactor.retrieve(a.id)
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(Error)
    expect(error._tag).toBe("LookupFailed")
    expect(error.message).toBe("no user 7")
    expect(error.user).toBe(7)
    // The span frames of A's Effect.fn, rendered in A: they do not survive serialisation otherwise.
    expect(error.stack).toContain("at lookupUser")
    const cause = result.originalFailure()!
    expect(Cause.isCause(cause)).toBe(true)
    expect(cause.reasons).toHaveLength(1)
    expect(cause.reasons[0]).toMatchObject({ _tag: "Fail", error: { _tag: "LookupFailed", user: 7 } })
    expect(causeOf(error)).toBe(cause)
  }, 20_000)

  it("two processes racing to retrieve the same id: exactly one wins, the other gets ResultNotFound", async () => {
    const a = await owner("success")
    const racers = [fixture("retriever", [target(), a.id]), fixture("retriever", [target(), a.id])]
    const outcomes = await Promise.all(racers.map((racer) => racer.next()))
    expect(outcomes.filter((outcome) => "ok" in outcome)).toEqual([{ ok: { from: "owner", pid: a.process.child.pid } }])
    expect(outcomes.filter((outcome) => "error" in outcome)).toEqual([{ error: "ResultNotFound" }])
    expect(await Promise.all(racers.map((racer) => racer.exited))).toEqual([0, 0])
    // And this process is a third loser.
    const { reactor } = reactorWithStore()
    expect(await rejection(reactor.retrieve(a.id).wait({ timeout: "10 seconds" }))).toBeInstanceOf(ResultNotFound)
  }, 30_000)

  it("cancel() here interrupts the fiber in process A", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(target(), a.id)
    const result = reactor.retrieve(a.id)
    // Let the claim land, then cancel while A's work runs.
    await rejection(result.wait({ timeout: "200 millis" }))
    result.cancel()
    expect(await rejection(result.wait({ timeout: "5 seconds" }))).toMatchObject({ _tag: "Cancelled" })
    expect(await a.process.next((message) => message.event === "interrupted", 5_000)).toEqual({ event: "interrupted" })
  }, 20_000)

  it("A dies before finishing: the wait here ends with OwnerLost within ownerLostAfter", async () => {
    const a = await owner("never")
    const { reactor } = reactorWithStore()
    await ownerStarted(target(), a.id)
    const result = reactor.retrieve(a.id)
    await rejection(result.wait({ timeout: "200 millis" }))
    a.process.child.kill("SIGKILL")
    await a.process.exited
    const killed = Date.now()
    const error = await rejection(result.wait({ timeout: "10 seconds" }))
    expect(error).toBeInstanceOf(OwnerLost)
    expect(error.message).toContain(a.id)
    // ownerLostAfter is 600 ms: a generous bound, far below the wait's timeout.
    expect(Date.now() - killed).toBeLessThan(3_000)
  }, 20_000)

  it("an idle store does not keep a finished program alive", async () => {
    const program = fixture("idle", [target()])
    expect(await program.next()).toEqual({ ok: "idle" })
    expect(await program.exited).toBe(0)
  }, 20_000)
}
