-- Audit events about a data subject's applications (idx_audit_logs_application_id).
SELECT * FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND application_id = ANY(%(ids)s)
ORDER BY event_timestamp, id
