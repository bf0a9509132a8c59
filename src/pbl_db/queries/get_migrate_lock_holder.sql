-- Who holds the pbl migrate advisory lock on this database (bigint key: classid = high, objid = low half).
SELECT a.pid, a.application_name, coalesce(a.client_addr::text, 'local') AS client,
       a.backend_start, a.state
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('pbl.migrate', 0)
LIMIT 1
