-- Functions shared by every script of this crate. Scripts cannot include
-- one another, so each script's text is this file followed by its own
-- (`lua_script!` in src/redis/mod.rs).

-- Redis's clock, in microseconds since the Unix epoch: the one clock
-- every process reads alike.
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- A lease is a sorted set of its holders' tokens, each scored by when its
-- hold ends (µs on Redis's clock). A fenced lease has an epoch beside it,
-- bumped each time the lease goes to a token that did not hold it, so that
-- a script acting for a holder can refuse one that lost it since.

-- Holds `token`'s place for `ttl_ms` from now. The set lives as long as
-- its longest hold, whatever each holder's ttl.
local function lease_hold(lease, token, now, ttl_ms)
  redis.call('ZADD', lease, string.format('%.0f', now + ttl_ms * 1000), token)
  if redis.call('PTTL', lease) < ttl_ms then
    redis.call('PEXPIRE', lease, ttl_ms)
  end
end

-- Forgets the holds that ended, then extends `token`'s, if it still has
-- one, for `ttl_ms` from now: true if it did.
local function lease_extend(lease, token, now, ttl_ms)
  redis.call('ZREMRANGEBYSCORE', lease, '-inf', now)
  if not redis.call('ZSCORE', lease, token) then
    return false
  end
  lease_hold(lease, token, now, ttl_ms)
  return true
end

local function lease_has_room(lease, capacity)
  return redis.call('ZCARD', lease) < capacity
end

-- How long until the first hold ends (µs).
local function lease_first_end(lease, now)
  local first = redis.call('ZRANGE', lease, 0, 0, 'WITHSCORES')
  if not first[2] then
    return 0
  end
  return tonumber(first[2]) - now
end

local function lease_free(lease, token)
  redis.call('ZREM', lease, token)
end

-- The epoch now; 0 for a lease without one (`epoch_key` nil).
local function lease_epoch(epoch_key)
  if not epoch_key then
    return 0
  end
  return tonumber(redis.call('GET', epoch_key) or '0')
end

-- A new epoch, for a token that did not hold the lease and now does. The
-- key never expires: an epoch that started again from 1 could match one
-- that a paused holder still remembers.
local function lease_new_epoch(epoch_key)
  if not epoch_key then
    return 0
  end
  return redis.call('INCR', epoch_key)
end

-- Whether `token` holds the lease now, under `epoch`: what a script that
-- acts for a holder checks first.
local function lease_fenced(lease, epoch_key, token, epoch, now)
  local ends = redis.call('ZSCORE', lease, token)
  return ends ~= false and tonumber(ends) > now and lease_epoch(epoch_key) == tonumber(epoch)
end
