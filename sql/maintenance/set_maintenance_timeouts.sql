-- Session timeouts for maintenance: lock_timeout so a task never queues behind a long transaction; statement_timeout (0 = none).
SELECT set_config('lock_timeout', %(lock_timeout)s, false),
       set_config('statement_timeout', %(statement_timeout)s, false)
