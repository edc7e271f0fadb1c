-- A member asks for its next change, without waiting: first one that
-- another member took and has not acked within the claim time (its
-- process died, or it is stuck), moved to the dead letters instead once it
-- was handed out too often; else one never handed out. Blocking for new
-- ones is the caller's, on a connection of its own.
-- KEYS[1..3]: as in stream.lua. KEYS[4]: the dead letters.
-- ARGV: member, claim after (ms), most deliveries, keys live (ms).
-- Answers {{id, uuid, payload, deliveries} or {}, {uuid, deliveries, ...}
-- of each change dead-lettered on the way}.
local failed = ensure_group()
if failed then
  return failed
end
local dead = {}
local function answer(entry)
  keep({KEYS[1], KEYS[2], KEYS[3], KEYS[4]}, ARGV[4])
  return {entry, dead}
end
-- A few at a time, so that a step stays short however many are dead.
for _ = 1, 10 do
  local idle = redis.call('XPENDING', KEYS[1], GROUP, 'IDLE', ARGV[2], '-', '+', 1)[1]
  if not idle then
    break
  end
  local id = idle[1]
  local deliveries = tonumber(idle[4]) + 1
  local entry = redis.call('XCLAIM', KEYS[1], GROUP, ARGV[1], ARGV[2], id)[1]
  local uuid = entry and field(entry[2], 'uuid')
  local payload = entry and field(entry[2], 'change')
  if not uuid or not payload then
    -- Gone from the stream under its holder: nothing to hand out.
    redis.call('XACK', KEYS[1], GROUP, id)
  elseif deliveries > tonumber(ARGV[3]) then
    redis.call('XADD', KEYS[4], '*', 'uuid', uuid, 'change', payload, 'deliveries', deliveries - 1)
    redis.call('XACK', KEYS[1], GROUP, id)
    release(uuid, id)
    dead[#dead + 1] = uuid
    dead[#dead + 1] = deliveries - 1
  else
    return answer({id, uuid, payload, deliveries})
  end
end
local read = redis.call('XREADGROUP', 'GROUP', GROUP, ARGV[1], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if read then
  local entry = read[1][2][1]
  if entry then
    return answer({entry[1], field(entry[2], 'uuid') or '', field(entry[2], 'change') or '', 1})
  end
end
return answer({})
