-- A tenant by id or slug (pbl audit verify --tenant).
SELECT id, slug FROM tenants WHERE id::text = lower(%(value)s) OR slug = %(value)s
