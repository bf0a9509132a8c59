-- Undo 0026_users_lockout_columns: table-wide UPDATE again, 0021's invoker functions back under
-- their names.
REVOKE UPDATE (
    email, password_hash, last_login_at, first_name, last_name, phone, role, permissions,
    is_active, is_verified, mfa_enabled, mfa_secret, password_change_required, deleted_at,
    updated_at
) ON users FROM application_user;
GRANT UPDATE ON users TO application_user;

DROP FUNCTION pbl_unlock_user(uuid, text);
DROP FUNCTION pbl_record_login_success(uuid);
DROP FUNCTION pbl_record_login_failure(uuid);
DROP FUNCTION pbl_lockout_user_tenant(uuid);

ALTER FUNCTION pbl_lockout_count_success(uuid) SECURITY INVOKER;
-- squawk-ignore renaming-object
ALTER FUNCTION pbl_lockout_count_success(uuid) RENAME TO pbl_record_login_success;
ALTER FUNCTION pbl_lockout_count_failure(uuid) SECURITY INVOKER;
-- squawk-ignore renaming-object
ALTER FUNCTION pbl_lockout_count_failure(uuid) RENAME TO pbl_record_login_failure;
