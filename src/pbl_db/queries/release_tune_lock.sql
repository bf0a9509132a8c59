-- pbl tune: release the apply/revert advisory lock.
SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended('pbl.tune', 0))
