-- Release the pbl migrate advisory lock held by this session.
SELECT pg_advisory_unlock(hashtextextended('pbl.migrate', 0))
