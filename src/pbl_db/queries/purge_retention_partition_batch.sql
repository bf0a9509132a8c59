-- One batch of the sanctioned purge in one partition (0016): rows deleted, the cursor, counts per policy.
SELECT purged, last_event::text AS last_event, by_regulation
FROM pbl_purge_expired_audit_logs(%(limit)s, %(partition)s::regclass, %(after)s::timestamptz)
