-- A snapshot's header: which database and extension version, and pg_stat_statements_info's
-- reset time and eviction count when the extension has them (1.9+).
INSERT INTO pbl_statement_snapshots (label, dbid, extension_version, stats_reset, dealloc)
VALUES (%(label)s, %(dbid)s, %(version)s, %(stats_reset)s, %(dealloc)s)
RETURNING id, label, taken_at, taken_by, dbid, extension_version, stats_reset, dealloc
