-- lock_timeout for the rest of the transaction: DDL never queues behind traffic for long.
SELECT set_config('lock_timeout', %(lock_timeout)s, true)
