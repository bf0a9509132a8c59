-- Sets a user's role.
UPDATE users SET role = %(role)s WHERE id = %(id)s AND tenant_id = %(tenant_id)s
