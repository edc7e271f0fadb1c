-- Records what a request's answer taught, then frees its lease: in that
-- order, so that the next request already sees a 429's pause.
-- KEYS[1]: the in-flight lease; KEYS[2]: the learned pace.
-- ARGV: token, the pace version the caller computed from, the new pace
-- ('' when unchanged), pace ttl (ms).
local now = redis_now()
local lease, pace = KEYS[1], KEYS[2]
local version = pace_version(pace)
if version ~= tonumber(ARGV[2]) then
  return {'stale', now, version, pace_json(pace)}
end
version = pace_write(pace, version, ARGV[3], tonumber(ARGV[4]))
lease_free(lease, ARGV[1])
return {'ok', now, version, ''}
