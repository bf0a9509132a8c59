-- The id of pbl's system tenant, if it exists.
SELECT id FROM tenants WHERE id = %(id)s
