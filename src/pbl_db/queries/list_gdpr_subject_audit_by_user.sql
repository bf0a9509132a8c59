-- Audit events whose actor (user_id) is the data subject: their user ids or email addresses,
-- lower-cased. No index on user_id: this reads the tenant's whole audit trail.
SELECT * FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND lower(user_id) = ANY(%(refs)s)
ORDER BY event_timestamp, id
