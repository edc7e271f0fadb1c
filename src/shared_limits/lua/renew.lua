-- Extends a holder's lease; re-takes it if Redis lost it (a restart) and
-- there is room; else reports it lost.
-- KEYS[1]: the lease. ARGV: token, lease ttl (ms), max in flight.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ttl = tonumber(ARGV[2])
-- The set lives as long as its longest lease, whatever each holder's ttl.
local function hold()
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl * 1000), ARGV[1])
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  hold()
  return {'held', now, 0, ''}
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  hold()
  return {'retaken', now, 0, ''}
end
return {'lost', now, 0, ''}
