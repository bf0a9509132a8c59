-- Make the monthly audit_logs partitions from %(first)s's month to %(last)s's; the names made.
SELECT name FROM pbl_ensure_audit_partitions_between(%(first)s, %(last)s) AS name
