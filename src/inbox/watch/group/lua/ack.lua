-- A member is done with a change: acks it and lets the conversation's next
-- held change, if any, take its place. An ack Redis has no record of (acked
-- before, or lost with a restart without persistence) is no error.
-- KEYS[1..3]: as in stream.lua. ARGV: entry id, uuid.
local acked = redis.pcall('XACK', KEYS[1], GROUP, ARGV[1])
if type(acked) == 'table' and acked.err then
  if string.find(acked.err, 'NOGROUP', 1, true) then
    return 0
  end
  return redis.error_reply(acked.err)
end
release(ARGV[2], ARGV[1])
return acked
