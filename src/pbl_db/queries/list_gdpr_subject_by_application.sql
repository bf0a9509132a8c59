-- The tenant of one application (the data subject named by --application-id).
SELECT 'applications' AS table_name, id, tenant_id
FROM applications
WHERE id = %(application_id)s
  AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
