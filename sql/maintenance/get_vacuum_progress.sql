-- Progress of the VACUUM run by one backend: phase and heap blocks done / total.
SELECT p.phase,
       CASE WHEN p.phase = 'vacuuming heap' THEN p.heap_blks_vacuumed
            ELSE p.heap_blks_scanned END AS done,
       p.heap_blks_total AS total,
       NULL::integer AS waiting_for_pid
FROM pg_catalog.pg_stat_progress_vacuum AS p
WHERE p.pid = %(pid)s
