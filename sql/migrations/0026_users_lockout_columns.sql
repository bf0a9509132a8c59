-- The services may no longer clear a lockout themselves (issue 17; left open by 0021): they lose
-- UPDATE of failed_login_attempts and locked_until (and of id, tenant_id, created_*), which now
-- change only through pbl_record_login_failure() / pbl_record_login_success() or by a DBA
-- (`pbl users unlock`). The platform, where a tenant's administrators unlock their users,
-- calls pbl_unlock_user(user, reason), which records the unlock in the audit trail in the same
-- transaction: a service can still unlock, but never without a trace.
--
-- 0021's functions become the SECURITY DEFINER cores (as pbl_owner, whom the FORCEd tenant
-- policies bind, so they reach only the current tenant's users). Under the old names, wrappers
-- that run as the caller find the user as the caller may see it and, for a caller that
-- row-level security does not bind (a DBA without a tenant set), scope the core to that user's
-- tenant. The cores stay safe to call directly: a failure only raises the count and the lock,
-- and a success is refused by pbl_users_refuse_locked_login() while the lock runs.
-- the wrappers below take the old names in this same transaction: no client sees a gap
-- squawk-ignore renaming-object
ALTER FUNCTION pbl_record_login_failure(uuid) RENAME TO pbl_lockout_count_failure;
ALTER FUNCTION pbl_lockout_count_failure(uuid) SECURITY DEFINER;
-- squawk-ignore renaming-object
ALTER FUNCTION pbl_record_login_success(uuid) RENAME TO pbl_lockout_count_success;
ALTER FUNCTION pbl_lockout_count_success(uuid) SECURITY DEFINER;

-- The tenant of p_user as the caller may see it; raises no_data_found otherwise.
CREATE FUNCTION pbl_lockout_user_tenant(p_user uuid) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    found_tenant uuid;
BEGIN
    SELECT tenant_id INTO found_tenant FROM public.users WHERE id = p_user AND deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user % (or not one this role may see)', p_user
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN found_tenant;
END
$$;

CREATE FUNCTION pbl_record_login_failure(p_user uuid) RETURNS timestamptz
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    user_tenant constant uuid := public.pbl_lockout_user_tenant(p_user);
    before constant text := current_setting('app.current_tenant_id', true);
    until timestamptz;
BEGIN
    IF user_tenant IS NOT DISTINCT FROM public.pbl_current_tenant_id() THEN
        RETURN public.pbl_lockout_count_failure(p_user);
    END IF;
    PERFORM set_config('app.current_tenant_id', user_tenant::text, true);
    until := public.pbl_lockout_count_failure(p_user);
    PERFORM set_config('app.current_tenant_id', coalesce(before, ''), true);
    RETURN until;
END
$$;

CREATE FUNCTION pbl_record_login_success(p_user uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    user_tenant constant uuid := public.pbl_lockout_user_tenant(p_user);
    before constant text := current_setting('app.current_tenant_id', true);
BEGIN
    IF user_tenant IS NOT DISTINCT FROM public.pbl_current_tenant_id() THEN
        PERFORM public.pbl_lockout_count_success(p_user);
        RETURN;
    END IF;
    PERFORM set_config('app.current_tenant_id', user_tenant::text, true);
    PERFORM public.pbl_lockout_count_success(p_user);
    PERFORM set_config('app.current_tenant_id', coalesce(before, ''), true);
END
$$;

CREATE FUNCTION pbl_unlock_user(p_user uuid, p_reason text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u record;
BEGIN
    IF p_reason IS NULL OR length(btrim(p_reason)) = 0 OR length(p_reason) > 1000 THEN
        RAISE EXCEPTION 'pbl_unlock_user() needs a reason of 1 to 1000 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT tenant_id, locked_until, failed_login_attempts INTO u
    FROM public.users WHERE id = p_user AND deleted_at IS NULL
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user % (or not one this role may see)', p_user
            USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE public.users SET locked_until = NULL, failed_login_attempts = 0 WHERE id = p_user;
    INSERT INTO public.audit_logs (tenant_id, event_type, event_category, event_description,
                                   user_id, service_name, event_data, previous_state, new_state)
    VALUES (u.tenant_id, 'user.unlocked', 'administration', 'user ' || p_user || ' unlocked',
            session_user, 'pbl_unlock_user',
            jsonb_build_object('user_id', p_user, 'reason', p_reason),
            jsonb_build_object('locked_until', u.locked_until,
                               'failed_login_attempts', u.failed_login_attempts),
            jsonb_build_object('locked_until', NULL, 'failed_login_attempts', 0));
END
$$;

ALTER FUNCTION pbl_unlock_user(uuid, text) OWNER TO pbl_owner;
REVOKE ALL ON FUNCTION pbl_unlock_user(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pbl_unlock_user(uuid, text) TO application_user;
ALTER FUNCTION pbl_lockout_user_tenant(uuid) OWNER TO pbl_owner;
ALTER FUNCTION pbl_record_login_failure(uuid) OWNER TO pbl_owner;
ALTER FUNCTION pbl_record_login_success(uuid) OWNER TO pbl_owner;
REVOKE ALL ON FUNCTION pbl_record_login_failure(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION pbl_record_login_success(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pbl_record_login_failure(uuid) TO application_user;
GRANT EXECUTE ON FUNCTION pbl_record_login_success(uuid) TO application_user;

REVOKE UPDATE ON users FROM application_user;
GRANT UPDATE (
    email, password_hash, last_login_at, first_name, last_name, phone, role, permissions,
    is_active, is_verified, mfa_enabled, mfa_secret, password_change_required, deleted_at,
    updated_at
) ON users TO application_user;
