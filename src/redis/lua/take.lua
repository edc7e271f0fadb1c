-- Takes a place in a lease, or says how long until one frees.
-- KEYS[1]: the lease; KEYS[2], if fenced: its epoch.
-- ARGV: token, ttl (ms), capacity.
local now = redis_now()
local lease, token, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
if lease_extend(lease, token, now, ttl) then
  -- Taken already, and the answer was lost: the caller asks again with the
  -- same token, and learns the epoch it was given.
  return {'taken', now, lease_epoch(KEYS[2]), ''}
end
if not lease_has_room(lease, tonumber(ARGV[3])) then
  return {'busy', now, lease_first_end(lease, now), ''}
end
lease_hold(lease, token, now, ttl)
return {'taken', now, lease_new_epoch(KEYS[2]), ''}
