-- Enrols (a new encrypted secret) or removes (NULL) a user's MFA.
UPDATE users SET mfa_secret = %(secret)s::text, mfa_enabled = %(secret)s::text IS NOT NULL
WHERE id = %(id)s AND tenant_id = %(tenant_id)s
