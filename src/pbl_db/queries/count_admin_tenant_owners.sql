-- Active owners of a tenant other than one user: may that user stop being an owner?
SELECT count(*) FROM users
WHERE tenant_id = %(tenant_id)s AND role = 'owner' AND is_active AND deleted_at IS NULL
  AND id <> %(id)s
