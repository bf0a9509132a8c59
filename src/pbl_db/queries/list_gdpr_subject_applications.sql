-- A data subject's applications in one tenant (every column, encrypted fields as stored).
SELECT * FROM applications
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(ids)s)
ORDER BY created_at, id
