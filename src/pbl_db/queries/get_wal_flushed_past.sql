-- Whether the WAL is on disk up to a position.
SELECT pg_current_wal_flush_lsn() >= %(lsn)s::pg_lsn
