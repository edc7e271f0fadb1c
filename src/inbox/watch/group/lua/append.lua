-- The leader's one step after a poll: appends what it found and moves the
-- group's bookmark, both or neither, and only while it holds the leader
-- lease under the epoch it was granted (a leader paused past its lease is
-- fenced off here, whatever it believes). Then trims what no one needs.
-- KEYS[1..3]: as in stream.lua. KEYS[4]: the leader lease (sorted set of
-- holder tokens by expiry, µs). KEYS[5]: the lease's epoch. KEYS[6]: the
-- bookmark (a hash: the bookmark's JSON and the poll that wrote it).
-- KEYS[7]: the dead letters.
-- ARGV: token, epoch, bookmark JSON, the poll's id, retention (ms), idle
-- consumers are dropped after (ms), keys live (ms), then uuid and payload
-- per change.
local now_us = redis_now()
if not lease_fenced(KEYS[4], KEYS[5], ARGV[1], ARGV[2], now_us) then
  -- No one holds the lease at all (Redis restarted and kept nothing, or it
  -- ran out): the appender may take it again at once and go on.
  if redis.call('ZCOUNT', KEYS[4], '(' .. now_us, '+inf') == 0 then
    return {'lost', 0, 0}
  end
  return {'fenced', 0, 0}
end
-- This poll's step again: it was done, and its answer lost on the way
-- back. Appending the changes twice would hand them out twice.
if redis.call('HGET', KEYS[6], 'poll') == ARGV[4] then
  return {'ok', 0, -1}
end
local failed = ensure_group()
if failed then
  return failed
end
local added = 0
for i = 8, #ARGV, 2 do
  if offer(ARGV[i], ARGV[i + 1]) then
    added = added + 1
  end
end
redis.call('HSET', KEYS[6], 'bookmark', ARGV[3], 'poll', ARGV[4])

-- Trim what every member has acked and is older than the retention; never
-- an entry still in someone's hands, nor one not yet handed out.
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function before(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  return am < bm or (am == bm and as < bs)
end
local retained = tostring(math.max(0, math.floor(now_us / 1000) - tonumber(ARGV[5]))) .. '-0'
local floor = retained
local pending = redis.call('XPENDING', KEYS[1], GROUP)
if tonumber(pending[1]) > 0 and before(pending[2], floor) then
  floor = pending[2]
end
local undelivered = 0
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  if field(group, 'name') == GROUP then
    local last = field(group, 'last-delivered-id')
    if last and before(last, floor) then
      floor = last
    end
    local lag = field(group, 'lag')
    if type(lag) == 'number' then
      undelivered = lag
    end
  end
end
redis.call('XTRIM', KEYS[1], 'MINID', floor)
redis.call('XTRIM', KEYS[7], 'MINID', retained)
-- Members that left (a new pid each restart) and hold nothing.
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], GROUP)) do
  if tonumber(field(consumer, 'pending')) == 0 and tonumber(field(consumer, 'idle')) > tonumber(ARGV[6]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], GROUP, field(consumer, 'name'))
  end
end
-- A group no one runs any more goes away by itself.
for i = 1, 7 do
  if i ~= 4 and i ~= 5 then
    redis.call('PEXPIRE', KEYS[i], ARGV[7])
  end
end
return {'ok', added, tonumber(pending[1]) + undelivered}
