-- Where this server's WAL ends now (what a later flush must reach).
SELECT pg_current_wal_insert_lsn()::text
