-- PostgreSQL 14+: notice a vanished client during a long statement, so a killed run frees its locks.
SELECT set_config('client_connection_check_interval', '2s', false)
