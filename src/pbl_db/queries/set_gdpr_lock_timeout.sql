-- A GDPR erase waits at most this long for a row lock, then gives up (its transaction only).
SELECT set_config('lock_timeout', %(lock_timeout)s, true)
