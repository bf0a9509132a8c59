-- Progress of the ANALYZE run by one backend (PostgreSQL 13+): phase and sample blocks (or child tables) done / total.
SELECT p.phase,
       CASE WHEN p.phase = 'acquiring inherited sample rows' THEN p.child_tables_done
            ELSE p.sample_blks_scanned END AS done,
       CASE WHEN p.phase = 'acquiring inherited sample rows' THEN p.child_tables_total
            ELSE p.sample_blks_total END AS total,
       NULL::integer AS waiting_for_pid
FROM pg_catalog.pg_stat_progress_analyze AS p
WHERE p.pid = %(pid)s
