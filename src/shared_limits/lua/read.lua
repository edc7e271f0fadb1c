-- The learned pace and Redis's clock, for a process that wants to know
-- where things stand without changing anything.
-- KEYS[1]: the learned pace.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local version = math.floor(tonumber(redis.call('HGET', KEYS[1], 'v')) or 0)
return {'ok', now, version, redis.call('HGET', KEYS[1], 's') or ''}
