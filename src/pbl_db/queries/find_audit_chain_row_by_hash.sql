-- Rows of a tenant whose verification_hash is a given hash (verify: which row a broken link points to).
SELECT id, chain_seq FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND verification_hash = %(hash)s
ORDER BY chain_seq
LIMIT 3
