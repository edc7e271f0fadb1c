-- Redis's clock through the prelude, for a test that the prelude is there.
return redis_now()
