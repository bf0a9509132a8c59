-- What one backend is waiting for: its wait event and, when it waits for a lock, the pids that hold it.
SELECT a.wait_event_type,
       a.wait_event,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(a.pid) END
           AS blocking_pids
FROM pg_catalog.pg_stat_activity AS a
WHERE a.pid = %(pid)s
