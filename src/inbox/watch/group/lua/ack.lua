-- A member is done with a change: acks it and lets the conversation's next
-- held change, if any, take its place. An ack Redis has no record of (acked
-- before, or lost with a restart without persistence) is no error. A change
-- another member has claimed since is that member's to ack: acked here, its
-- conversation would be let out while the claimant still works on it.
-- KEYS[1..3]: as in stream.lua. ARGV: entry id, uuid, member, keys live (ms).
if holder_of(ARGV[1]) ~= ARGV[3] then
  return 0
end
local acked = redis.call('XACK', KEYS[1], GROUP, ARGV[1])
release(ARGV[2], ARGV[1])
keep({KEYS[2], KEYS[3]}, ARGV[4])
return acked
