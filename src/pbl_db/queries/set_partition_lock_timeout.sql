-- lock_timeout for the rest of the transaction: DDL on audit_logs never queues behind traffic for long.
SELECT set_config('lock_timeout', %(lock_timeout)s, true)
