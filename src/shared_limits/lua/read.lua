-- The learned pace and Redis's clock, for a process that wants to know
-- where things stand without changing anything.
-- KEYS[1]: the learned pace.
return {'ok', redis_now(), pace_version(KEYS[1]), pace_json(KEYS[1])}
