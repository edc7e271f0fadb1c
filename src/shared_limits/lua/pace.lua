-- The learned pace, a hash: v = its version, s = its JSON. Written only
-- over the version its writer computed from, so that no process overwrites
-- what another learned without having seen it.

local function pace_version(pace)
  return math.floor(tonumber(redis.call('HGET', pace, 'v')) or 0)
end

local function pace_json(pace)
  return redis.call('HGET', pace, 's') or ''
end

-- Stores `json` ('' when unchanged) over `version`; the version now.
local function pace_write(pace, version, json, ttl_ms)
  if json == '' then
    return version
  end
  version = version + 1
  redis.call('HSET', pace, 'v', version, 's', json)
  redis.call('PEXPIRE', pace, ttl_ms)
  return version
end
