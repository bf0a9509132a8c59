-- The first chain position of a tenant's rows with event_timestamp at or after a time (verify --since).
SELECT min(chain_seq) FROM audit_logs WHERE tenant_id = %(tenant_id)s AND event_timestamp >= %(since)s
