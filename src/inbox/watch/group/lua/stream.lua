-- Shared by the group's scripts (prepended to each; scripts cannot include
-- one another). KEYS[1]: the changes stream. KEYS[2]: the conversations with
-- a change in it not yet acked (uuid -> entry id). KEYS[3]: changes held
-- back until their conversation's open change is acked (uuid -> JSON array
-- of payloads).
local GROUP = 'members'

-- The consumer group, made again if Redis lost it (a restart without
-- persistence answers NOGROUP); BUSYGROUP means it is there.
local function ensure_group()
  local made = redis.pcall('XGROUP', 'CREATE', KEYS[1], GROUP, '0', 'MKSTREAM')
  if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP', 1, true) then
    return redis.error_reply(made.err)
  end
end

-- Puts a change of `uuid` in the stream, unless an earlier change of the
-- same conversation is still there unacked: then it waits its turn, so
-- that one conversation is never in two members' hands at once.
local function offer(uuid, payload)
  if redis.call('HEXISTS', KEYS[2], uuid) == 1 then
    local held = redis.call('HGET', KEYS[3], uuid)
    local list = held and cjson.decode(held) or {}
    list[#list + 1] = payload
    redis.call('HSET', KEYS[3], uuid, cjson.encode(list))
    return false
  end
  local id = redis.call('XADD', KEYS[1], '*', 'uuid', uuid, 'change', payload)
  redis.call('HSET', KEYS[2], uuid, id)
  return true
end

-- The change `id` of `uuid` is done with (acked or dead-lettered): the
-- next held change of the conversation, if any, takes its place.
local function release(uuid, id)
  if redis.call('HGET', KEYS[2], uuid) ~= id then
    return
  end
  redis.call('HDEL', KEYS[2], uuid)
  local held = redis.call('HGET', KEYS[3], uuid)
  if not held then
    return
  end
  local list = cjson.decode(held)
  local first = table.remove(list, 1)
  if #list == 0 then
    redis.call('HDEL', KEYS[3], uuid)
  else
    redis.call('HSET', KEYS[3], uuid, cjson.encode(list))
  end
  if first then
    offer(uuid, first)
  end
end

-- The value of `name` in a flat reply (name, value, name, value, ...).
local function field(reply, name)
  for i = 1, #reply, 2 do
    if reply[i] == name then
      return reply[i + 1]
    end
  end
end

-- The member with change `id` in hand; nil when no member has it (acked,
-- dead-lettered, or lost with a restart that kept nothing) or the group is
-- gone (NOGROUP).
local function holder_of(id)
  local pending = redis.pcall('XPENDING', KEYS[1], GROUP, id, id, 1)
  if type(pending) ~= 'table' or pending.err or not pending[1] then
    return nil
  end
  return pending[1][2]
end

-- Keys this step made anew (a hash emptied and filled again, a stream
-- made by a claim or a dead letter) live as long as the leader's append
-- lets the others live, should no leader ever append again.
local function keep(keys, ms)
  for _, key in ipairs(keys) do
    if redis.call('PTTL', key) == -1 then
      redis.call('PEXPIRE', key, ms)
    end
  end
end
