-- Frees a holder's place.
-- KEYS[1]: the lease. ARGV: token.
lease_free(KEYS[1], ARGV[1])
return {'ok', redis_now(), 0, ''}
