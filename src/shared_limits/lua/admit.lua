-- Admits one request, or says why not, in one step on Redis's clock.
-- KEYS[1]: the in-flight lease. KEYS[2]: the learned pace.
-- KEYS[3..]: one GCRA cell per told rate, holding its theoretical arrival time (µs).
-- ARGV: token, lease ttl (ms), max in flight, the pace version the caller
-- computed from, the new pace ('' when unchanged), pace ttl (ms), then a
-- spacing (µs) and a burst for each cell.
local now = redis_now()
local lease, pace, token, ttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local version = pace_version(pace)
if lease_extend(lease, token, now, ttl) then
  -- Granted already, and the answer was lost: the caller asks again with
  -- the same token. It holds the lease; nothing else changes. It gets the
  -- pace as stored: another process may have written it since, and the
  -- caller cannot tell whether its own proposal was written.
  return {'again', now, version, pace_json(pace)}
end
if version ~= tonumber(ARGV[4]) then
  return {'stale', now, version, pace_json(pace)}
end
if not lease_has_room(lease, tonumber(ARGV[3])) then
  return {'busy', now, lease_first_end(lease, now), ''}
end
local wait = 0
local arrivals = {}
-- What each cell has left once this request is let through, for the
-- metrics: the grant's text.
local left = {}
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
lease_hold(lease, token, now, ttl)
return {'ok', now, pace_write(pace, version, ARGV[5], tonumber(ARGV[6])), table.concat(left, ' ')}
