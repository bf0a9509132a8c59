-- Who holds the pbl migrate advisory lock on this database (bigint key: classid = high, objid =
-- low half). pg_locks shows every pid; pg_stat_activity hides other roles' details (NULLs) from
-- roles without pg_read_all_stats.
SELECT l.pid, a.usename, a.application_name, host(a.client_addr) AS client, a.backend_start
FROM pg_locks AS l
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('pbl.migrate', 0)
LIMIT 1
