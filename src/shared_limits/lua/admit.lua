-- Admits one request, or says why not, in one step on Redis's clock.
-- KEYS[1]: the lease, a sorted set of holders' tokens scored by expiry (µs).
-- KEYS[2]: the learned pace, a hash: v = its version, s = its JSON.
-- KEYS[3..]: one GCRA cell per told rate, holding its theoretical arrival time (µs).
-- ARGV: token, lease ttl (ms), max in flight, the pace version the caller
-- computed from, the new pace ('' when unchanged), pace ttl (ms), then a
-- spacing (µs) and a burst for each cell.
-- A grant's text is what each cell has left after it, for the metrics.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local version = math.floor(tonumber(redis.call('HGET', KEYS[2], 'v')) or 0)
local ttl = tonumber(ARGV[2])
-- The set lives as long as its longest lease, whatever each holder's ttl.
local function hold(expiry_ms)
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + expiry_ms * 1000), ARGV[1])
  if redis.call('PTTL', KEYS[1]) < expiry_ms then
    redis.call('PEXPIRE', KEYS[1], expiry_ms)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  -- Granted already, and the answer was lost: the caller asks again with
  -- the same token. It holds the lease; nothing else changes.
  hold(ttl)
  return {'ok', now, version, ''}
end
if version ~= tonumber(ARGV[4]) then
  return {'stale', now, version, redis.call('HGET', KEYS[2], 's') or ''}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'busy', now, tonumber(first[2]) - now, ''}
end
local wait = 0
local arrivals = {}
local left = {}
for i = 3, #KEYS do
  local spacing = tonumber(ARGV[7 + (i - 3) * 2])
  local burst = tonumber(ARGV[8 + (i - 3) * 2])
  local arrival = tonumber(redis.call('GET', KEYS[i]) or '0')
  if arrival < now then arrival = now end
  local allowed_at = arrival + spacing - burst * spacing
  if allowed_at - now > wait then wait = allowed_at - now end
  arrivals[i] = arrival + spacing
  left[#left + 1] = math.floor((now - arrivals[i]) / spacing) + burst
end
if wait > 0 then
  return {'wait', now, wait, ''}
end
for i = 3, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.0f', arrivals[i]),
    'PX', math.ceil((arrivals[i] - now) / 1000) + 1000)
end
hold(ttl)
if ARGV[5] ~= '' then
  version = version + 1
  redis.call('HSET', KEYS[2], 'v', version, 's', ARGV[5])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]))
end
return {'ok', now, version, table.concat(left, ' ')}
