DROP TABLE audit_logs;

DROP FUNCTION pbl_purge_expired_audit_logs(integer);

DROP FUNCTION pbl_audit_logs_no_truncate();

DROP FUNCTION pbl_audit_logs_guard();

DROP FUNCTION pbl_audit_logs_before_insert();

DROP FUNCTION pbl_ensure_audit_partitions(integer, integer);

DROP FUNCTION pbl_ensure_audit_partitions_between(date, date);

DROP FUNCTION pbl_audit_retention_until(text, timestamptz);

DROP TABLE audit_retention_policies;
