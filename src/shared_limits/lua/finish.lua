-- Records what a request's answer taught, then frees its lease: in that
-- order, so that the next request already sees a 429's pause.
-- KEYS[1]: the lease; KEYS[2]: the learned pace.
-- ARGV: token, the pace version the caller computed from, the new pace
-- ('' when unchanged), pace ttl (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local version = math.floor(tonumber(redis.call('HGET', KEYS[2], 'v')) or 0)
if version ~= tonumber(ARGV[2]) then
  return {'stale', now, version, redis.call('HGET', KEYS[2], 's') or ''}
end
if ARGV[3] ~= '' then
  version = version + 1
  redis.call('HSET', KEYS[2], 'v', version, 's', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
end
redis.call('ZREM', KEYS[1], ARGV[1])
return {'ok', now, version, ''}
