-- Make the monthly audit_logs partitions for every month from %(first)s's to %(last)s's.
SELECT count(*) FROM pbl_ensure_audit_partitions_between(%(first)s, %(last)s)
