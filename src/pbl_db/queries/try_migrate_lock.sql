-- Take the session advisory lock that serializes pbl migrate runs on this database, without waiting.
SELECT pg_try_advisory_lock(hashtextextended('pbl.migrate', 0))
