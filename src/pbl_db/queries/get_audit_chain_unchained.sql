-- A row of the tenant that is not in its chain (inserted with the chain trigger disabled), and how many there are.
SELECT id, count(*) OVER () FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND chain_seq IS NULL
LIMIT 1
