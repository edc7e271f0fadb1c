-- A member lets go of a change unacked: marked idle for the claim time,
-- the next member to ask takes it, counted as one more delivery. Only while
-- this member still holds it: one claimed by another member since stays
-- with that member.
-- KEYS[1..3]: as in stream.lua. ARGV: entry id, member, claim after (ms).
if holder_of(ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('XCLAIM', KEYS[1], GROUP, ARGV[2], 0, ARGV[1], 'IDLE', ARGV[3], 'JUSTID')
return 1
