-- Timeouts for the statements of one migration; is_local = true limits them to its transaction.
SELECT set_config('lock_timeout', %(lock_timeout)s, %(is_local)s),
       set_config('statement_timeout', %(statement_timeout)s, %(is_local)s)
