-- Lock a data subject's users for the erase.
SELECT id FROM users
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(ids)s)
ORDER BY id
FOR UPDATE
