-- Cancel the running query of one backend (its session and transaction stay).
SELECT pg_catalog.pg_cancel_backend(%(pid)s)
