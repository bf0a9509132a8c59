-- Users and applications whose email is the data subject's (case-insensitive). No index serves
-- lower(email): a sequential scan, acceptable for a rare GDPR request.
SELECT 'users' AS table_name, id, tenant_id
FROM users
WHERE lower(email) = lower(%(email)s)
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
UNION ALL
SELECT 'applications', id, tenant_id
FROM applications
WHERE lower(email) = lower(%(email)s)
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
