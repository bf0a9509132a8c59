-- Sessions waiting for a lock that another session holds (PostgreSQL 14+): the lock they wait for, its relation, seconds waited (pg_locks.waitstart), and the blocking pids.
SELECT a.pid,
       a.datname AS database,
       a.usename AS "user",
       a.application_name AS application,
       a.state,
       a.wait_event_type,
       a.wait_event,
       b.pids AS blocking_pids,
       w.locktype,
       w.mode,
       rn.nspname AS relation_schema,
       rc.relname AS relation_name,
       coalesce(w.relation, tl.relation) AS relation_oid,
       greatest(0, extract(epoch FROM now() - coalesce(w.waitstart, a.state_change)))::float8
           AS waiting_s,
       CASE WHEN a.xact_start IS NOT NULL
            THEN greatest(0, extract(epoch FROM now() - a.xact_start)) END::float8 AS xact_age_s,
       a.query
FROM pg_catalog.pg_stat_activity AS a
CROSS JOIN LATERAL (SELECT pg_catalog.pg_blocking_pids(a.pid) AS pids) AS b
JOIN LATERAL (
    SELECT l.locktype, l.mode, l.relation, l.database, l.waitstart
    FROM pg_catalog.pg_locks AS l
    WHERE l.pid = a.pid AND NOT l.granted
    LIMIT 1
) AS w ON true
LEFT JOIN LATERAL (
    SELECT l.relation, l.database
    FROM pg_catalog.pg_locks AS l
    WHERE l.pid = a.pid AND l.granted AND l.locktype = 'tuple'
    LIMIT 1
) AS tl ON w.relation IS NULL
LEFT JOIN pg_catalog.pg_class AS rc
       ON rc.oid = coalesce(w.relation, tl.relation)
      AND coalesce(w.database, tl.database) IN
          (0, (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()))
LEFT JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
WHERE a.wait_event_type = 'Lock' AND cardinality(b.pids) > 0
ORDER BY waiting_s DESC, a.pid
