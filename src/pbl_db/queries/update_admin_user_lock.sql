-- Locks a user until a time, or unlocks (NULL) and clears the failure count.
UPDATE users
SET locked_until = %(until)s,
    failed_login_attempts = CASE WHEN %(until)s::timestamptz IS NULL THEN 0
                                 ELSE failed_login_attempts END
WHERE id = %(id)s AND tenant_id = %(tenant_id)s
