import { describe, expect, it } from "vitest"
import { heartbeatDue, type StoreSettings } from "../src/internal/settings.ts"

describe("heartbeats", () => {
  const settings = { ownerHeartbeat: 2_000 } as StoreSettings

  it("a timer that fires a little early (by Date.now()) still beats: within a tenth of the heartbeat counts as due", () => {
    expect(heartbeatDue(settings, 10_000, 12_000)).toBe(true)
    expect(heartbeatDue(settings, 10_000, 11_800)).toBe(true)
    // Earlier than that is a second timer of the same beat, not a beat of its own.
    expect(heartbeatDue(settings, 10_000, 11_799)).toBe(false)
    expect(heartbeatDue(settings, 10_000, 10_000)).toBe(false)
  })
})
