-- GDPR erase of users (docs/gdpr.md): soft delete (an earlier deleted_at is kept), email
-- replaced by 'erased-<id>@erased.invalid' (unique, passes the format check), names and phone
-- removed, MFA off and its secret removed, a password hash that never verifies, deactivated.
-- Rows already erased are left alone.
UPDATE users AS u
SET email = 'erased-' || u.id::text || '@erased.invalid',
    password_hash = '$scrypt$erased',
    first_name = NULL,
    last_name = NULL,
    phone = NULL,
    mfa_enabled = FALSE,
    mfa_secret = NULL,
    is_active = FALSE,
    deleted_at = coalesce(u.deleted_at, now())
WHERE u.tenant_id = %(tenant_id)s
  AND u.id = ANY(%(ids)s)
  AND u.email IS DISTINCT FROM 'erased-' || u.id::text || '@erased.invalid'
RETURNING u.id
