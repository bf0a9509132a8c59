-- lock_timeout for the rest of this seal transaction.
SELECT set_config('lock_timeout', %(timeout)s, true)
