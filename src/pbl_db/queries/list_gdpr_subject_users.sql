-- A data subject's user rows in one tenant (every column; the caller drops the secrets).
SELECT * FROM users
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(ids)s)
ORDER BY created_at, id
