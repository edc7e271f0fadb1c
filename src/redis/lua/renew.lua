-- Extends a holder's place; takes it again if it was lost (its hold ran
-- out, or Redis restarted) and there is room; else reports it lost.
-- KEYS[1]: the lease; KEYS[2], if fenced: its epoch.
-- ARGV: token, ttl (ms), capacity.
local now = redis_now()
local lease, token, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
if lease_extend(lease, token, now, ttl) then
  return {'held', now, lease_epoch(KEYS[2]), ''}
end
if lease_has_room(lease, tonumber(ARGV[3])) then
  lease_hold(lease, token, now, ttl)
  return {'retaken', now, lease_new_epoch(KEYS[2]), ''}
end
return {'lost', now, 0, ''}
