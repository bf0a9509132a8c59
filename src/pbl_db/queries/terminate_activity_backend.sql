-- End one backend's session (its transaction rolls back), waiting up to %(timeout_ms)s ms for it to exit (PostgreSQL 14+).
SELECT pg_catalog.pg_terminate_backend(%(pid)s, %(timeout_ms)s)
