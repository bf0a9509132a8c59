-- End one backend's session (its transaction rolls back); PostgreSQL 13 cannot wait for it to exit.
SELECT pg_catalog.pg_terminate_backend(%(pid)s)
