-- The primary's settings a hot standby must match or exceed (it refuses to start below them),
-- and the libraries it preloads (extensions' objects replicate; their code must be loaded too).
SELECT name, setting
FROM pg_settings
WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
               'max_prepared_transactions', 'max_locks_per_transaction',
               'shared_preload_libraries')
ORDER BY name
