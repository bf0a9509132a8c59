-- The standby's WAL receiver state ('streaming' once it follows the primary), or none yet.
SELECT status FROM pg_stat_wal_receiver
