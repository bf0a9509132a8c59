-- End one backend's session (its transaction rolls back), waiting up to %(timeout_ms)s ms for it to exit (PostgreSQL 14+), only while the pid is still the backend that started at %(backend_start)s (NULL: any); no row when it is not.
SELECT pg_catalog.pg_terminate_backend(a.pid, %(timeout_ms)s)
FROM pg_catalog.pg_stat_activity AS a
WHERE a.pid = %(pid)s
  AND (%(backend_start)s::timestamptz IS NULL OR a.backend_start = %(backend_start)s::timestamptz)
