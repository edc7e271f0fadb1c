-- Frees a lease without teaching anything (the request got no answer, or
-- its caller left before it was admitted).
-- KEYS[1]: the lease. ARGV: token.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return {'ok', now, 0, ''}
