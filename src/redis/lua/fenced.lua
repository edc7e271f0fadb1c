-- Whether a holder still holds a fenced lease under the epoch it was given.
-- KEYS[1]: the lease; KEYS[2]: its epoch. ARGV: token, epoch.
local now = redis_now()
if lease_fenced(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now) then
  return {'held', now, lease_epoch(KEYS[2]), ''}
end
return {'lost', now, lease_epoch(KEYS[2]), ''}
