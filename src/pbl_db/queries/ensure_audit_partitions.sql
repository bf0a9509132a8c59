-- Make the monthly audit_logs partitions from %(back)s months ago to %(ahead)s months ahead.
SELECT count(*) FROM pbl_ensure_audit_partitions(%(back)s, %(ahead)s)
