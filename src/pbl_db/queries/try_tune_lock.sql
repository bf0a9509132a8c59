-- pbl tune: the session advisory lock that keeps two apply/revert runs on this database apart, without waiting.
SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended('pbl.tune', 0))
