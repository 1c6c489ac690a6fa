/**
 * What the store keeps in Redis, and the scripts that change it. Per id, two
 * keys, both in the id's hash slot (`{<id>}`, so a Redis Cluster keeps them
 * on one node):
 *
 * - `<prefix>{<id>}:r`: a hash, the record: `state` ("pending" | "done"),
 *   `exit` (the Exit as JSON), `owner` (host:pid), `token` (the owner store's token), `waiter` (the
 *   retriever store's token), `cancel` ("1" once the retriever asked).
 * - `<prefix>{<id>}:c`: the claim, set once (`SET NX`) by the one retriever.
 *
 * Per store (one per process, usually), a random token and two more:
 *
 * - `<prefix>alive:<token>`: the store's heartbeat while it owns running
 *   work, refreshed every `ownerHeartbeat` with a time-to-live of `ownerLostAfter`.
 * - `<prefix>p:<token>`: its sharded pub/sub channel (`SSUBSCRIBE`), the one
 *   subscription of the store: "d [[id, exit], ...]" (done: the Exits
 *   themselves) and "w <id> ..." (look at the records again) for the waits; "c <id>"
 *   (cancel) and "k <id> <token>" (claimed by that store) for the owner.
 */
import { createHash } from "node:crypto"

/** A Lua script, run with `EVALSHA` (and `EVAL` the first time a node lacks it). */
export interface Script {
  readonly lua: string
  readonly sha: string
}

const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") })

/** The names of the store's keys and channels under its prefix. */
export class Keys {
  readonly prefix: string
  constructor(prefix: string) {
    this.prefix = prefix
  }
  record(id: string): string {
    return `${this.prefix}{${id}}:r`
  }
  claim(id: string): string {
    return `${this.prefix}{${id}}:c`
  }
  /** The heartbeat of the store whose token this is. */
  alive(token: string): string {
    return `${this.prefix}alive:${token}`
  }
  /** The channel of the store whose token this is. */
  channel(token: string): string {
    return `${this.prefix}p:${token}`
  }
}

/**
 * What a retriever learns from the record: `[-1]` someone else claimed it,
 * `[0]` no record, `[1, owner, token]` pending, `[2, exit, token]`
 * done. Reading leaves the record: a claim or look tried again after its
 * reply was lost reads the same (only the claim's holder reads it), and the
 * retriever deletes it once it has the Exit.
 */
export type Look =
  | readonly [-1]
  | readonly [0]
  | readonly [1, string | null, string | null]
  | readonly [2, string, string | null]

/**
 * The retriever claims the id and names its token. Replies a `Look`; a record
 * not there yet (the owner's first write is on its way) is given a lifetime.
 * Claiming again with the same claim (a retry whose reply was lost) is the same claim.
 * With ARGV[5] (the owner's channel, less its token; on one node only: a cluster's
 * script cannot publish to another slot), a pending owner hears of the claim at once:
 * `ARGV[6]` is the message.
 */
export const claim = script(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] and not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[3]) then
  return { -1 }
end
local f = redis.call('HMGET', KEYS[1], 'state', 'exit', 'owner', 'token')
if f[1] == 'done' then return { 2, f[2], f[4] } end
redis.call('HSET', KEYS[1], 'waiter', ARGV[2])
if not f[1] then
  if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
  return { 0 }
end
if ARGV[5] ~= '' and f[4] then redis.call('SPUBLISH', ARGV[5] .. f[4], ARGV[6]) end
return { 1, f[3], f[4] }`)

/** A woken retriever looks again: like the claim's reply, without claiming. */
export const look = script(`
local f = redis.call('HMGET', KEYS[1], 'state', 'exit', 'owner', 'token')
if f[1] == 'done' then return { 2, f[2], f[4] } end
if not f[1] then return { 0 } end
return { 1, f[3], f[4] }`)

/** The owner starts: a pending record. Replies the waiter's token (or "") and whether a cancel is already asked. */
export const start = script(`
redis.call('HSET', KEYS[1], 'state', 'pending', 'owner', ARGV[2], 'token', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'waiter', 'cancel')
return { f[1] or '', f[2] or '' }`)

/**
 * Owners are done: their Exits, published together (the Exits that completed
 * in the same tick; on a cluster, one at a time, each in its own slot). KEYS
 * are each result's record and claim; ARGV the time-to-live, the owner's
 * name and token, the channels' prefix less the token (on one node only: a
 * cluster's script cannot publish to another slot), then per result its Exit
 * and what to tell its waiter: its `[id, exit]` pair as JSON, or its bare id
 * when the owner sent the Exit to the waiter already. Each Exit is stored
 * once (a later publish, say at shutdown, does not overwrite it); one sent
 * already whose record is gone is not stored again (its retriever read it
 * and deleted the record). Replies, per result, the waiter's token, "" when
 * nobody claimed it yet, false when it was already published (or read), or
 * "!" and the error when its record is not a hash (the others are published
 * all the same). With the prefix, it also wakes the waiters, one message
 * each: `d [[id, exit], ...]`, and `w <id> ...` for the Exits sent already
 * (look again: that message may have been lost while the waiter subscribed again).
 */
export const publish = script(`
local ttl, owner, token, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local replies, waiters, byWaiter = {}, {}, {}
for i = 1, #KEYS / 2 do
  local record, exit, told = KEYS[2 * i - 1], ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local sent = string.sub(told, 1, 1) ~= '['
  local f = redis.pcall('HMGET', record, 'state', 'waiter')
  if f.err then
    replies[i] = '!' .. f.err
  elseif f[1] == 'done' or (sent and not f[1]) then
    replies[i] = false
  else
    redis.call('HSET', record, 'state', 'done', 'exit', exit, 'owner', owner, 'token', token)
    redis.call('PEXPIRE', record, ttl)
    redis.call('PEXPIRE', KEYS[2 * i], ttl)
    local waiter = f[2] or ''
    replies[i] = waiter
    if prefix ~= '' and waiter ~= '' then
      local mine = byWaiter[waiter]
      if not mine then
        mine = { done = {}, look = {} }
        byWaiter[waiter] = mine
        waiters[#waiters + 1] = waiter
      end
      table.insert(sent and mine.look or mine.done, told)
    end
  end
end
for _, waiter in ipairs(waiters) do
  local mine = byWaiter[waiter]
  if #mine.done > 0 then redis.call('SPUBLISH', prefix .. waiter, 'd [' .. table.concat(mine.done, ',') .. ']') end
  if #mine.look > 0 then redis.call('SPUBLISH', prefix .. waiter, 'w ' .. table.concat(mine.look, ' ')) end
end
return replies`)

/** Work that outlives the time-to-live keeps its record and claim while its owner is alive. */
export const extend = script(`
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`)

/**
 * The retriever asks the owner to cancel, if the claim is its own (or, when
 * it was interrupted before its claim landed, nobody's: then it claims now).
 * The request stays in the record (an owner that has not started yet sees it
 * then). Replies the owner's token ("" when unknown yet), or false.
 */
export const cancel = script(`
local holder = redis.call('GET', KEYS[2])
if not holder then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  holder = ARGV[1]
end
if holder ~= ARGV[1] then return false end
if redis.call('HGET', KEYS[1], 'state') == 'done' then return false end
redis.call('HSET', KEYS[1], 'cancel', '1')
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('HGET', KEYS[1], 'token') or ''`)
