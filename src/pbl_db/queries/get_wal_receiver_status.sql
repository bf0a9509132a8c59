-- The standby's WAL receiver: its state ('streaming' once it follows the primary; NULL for a
-- role without pg_read_all_stats), whether it runs, and whether WAL has arrived.
SELECT (SELECT status FROM pg_stat_wal_receiver),
       (SELECT pid IS NOT NULL FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() IS NOT NULL
