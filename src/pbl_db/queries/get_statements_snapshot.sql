-- One snapshot by id, or the newest with a label.
SELECT s.id, s.label, s.taken_at, s.taken_by, s.dbid, s.extension_version, s.stats_reset,
       s.dealloc, (SELECT count(*) FROM pbl_statement_snapshot_rows AS r
                   WHERE r.snapshot_id = s.id) AS statements
FROM pbl_statement_snapshots AS s
WHERE s.id = %(id)s OR (%(id)s IS NULL AND s.label = %(label)s)
ORDER BY s.id DESC
LIMIT 1
