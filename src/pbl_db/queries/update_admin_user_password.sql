-- A new password hash set by an administrator: the user must change it at the next login.
UPDATE users SET password_hash = %(password_hash)s, password_change_required = true
WHERE id = %(id)s AND tenant_id = %(tenant_id)s
