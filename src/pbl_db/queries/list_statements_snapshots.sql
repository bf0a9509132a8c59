-- The pg_stat_statements snapshots kept in this database, newest first, with their entry counts.
SELECT s.id, s.label, s.taken_at, s.taken_by, s.dbid, s.extension_version, s.stats_reset,
       s.dealloc, (SELECT count(*) FROM pbl_statement_snapshot_rows AS r
                   WHERE r.snapshot_id = s.id) AS statements
FROM pbl_statement_snapshots AS s
ORDER BY s.id DESC
