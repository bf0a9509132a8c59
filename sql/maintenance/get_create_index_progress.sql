-- Progress of the CREATE INDEX / REINDEX run by one backend: phase, done and total in that phase's unit, the session it waits for.
SELECT p.phase,
       CASE WHEN p.phase LIKE 'waiting%%' THEN p.lockers_done
            WHEN p.phase LIKE '%%scanning table%%' THEN p.blocks_done
            ELSE p.tuples_done END AS done,
       CASE WHEN p.phase LIKE 'waiting%%' THEN p.lockers_total
            WHEN p.phase LIKE '%%scanning table%%' THEN p.blocks_total
            ELSE p.tuples_total END AS total,
       nullif(p.current_locker_pid, 0) AS waiting_for_pid
FROM pg_catalog.pg_stat_progress_create_index AS p
WHERE p.pid = %(pid)s
