-- A tenant's users (one by id or email, or all), without hashes or secrets.
SELECT id, email, first_name, last_name, role, is_active, is_verified, mfa_enabled,
       failed_login_attempts, locked_until, coalesce(locked_until > now(), false) AS locked,
       password_change_required, last_login_at, created_at, deleted_at
FROM users
WHERE tenant_id = %(tenant_id)s
  AND (%(id)s::uuid IS NULL OR id = %(id)s::uuid)
  AND (%(email)s::text IS NULL OR lower(email) = lower(%(email)s::text))
  AND (%(deleted)s OR deleted_at IS NULL)
ORDER BY email
