-- Whether the WAL is on disk up to %(slack)s bytes before a position (the rest a commit flushes quickly).
SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), %(lsn)s::pg_lsn) >= -%(slack)s
