-- Login lockout enforced by the database for every client (docs/tenants.md, "Lockout").
-- Services call pbl_record_login_failure(user) after a wrong password and
-- pbl_record_login_success(user) after a right one. From the pbl.lockout_after-th failure in a
-- row (default 5) the user is locked for pbl.lockout_base (default 1 minute), doubling with
-- every further failure, at most pbl.lockout_max (default 1 day). A locked user cannot be marked
-- logged in: not by pbl_record_login_success, not by an UPDATE of last_login_at (SQLSTATE
-- PBL01). The functions run with the caller's rights, so row-level security keeps a service to
-- its own tenant's users. The settings are custom GUCs: ALTER DATABASE ... SET pbl.lockout_after
-- = '10', or per role, or SET in a session.
CREATE FUNCTION pbl_lockout_setting(p_name text, p_default text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT coalesce(nullif(current_setting('pbl.' || p_name, true), ''), p_default)
$$;

CREATE FUNCTION pbl_record_login_failure(p_user uuid) RETURNS timestamptz
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    after_n constant integer := public.pbl_lockout_setting('lockout_after', '5')::integer;
    base constant interval := public.pbl_lockout_setting('lockout_base', '1 minute')::interval;
    longest constant interval := public.pbl_lockout_setting('lockout_max', '1 day')::interval;
    until timestamptz;
BEGIN
    IF after_n < 1 THEN
        RAISE EXCEPTION 'pbl.lockout_after must be at least 1, not %', after_n
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the row lock of the UPDATE counts concurrent failures one after the other
    UPDATE public.users
    SET failed_login_attempts = failed_login_attempts + 1,
        locked_until = CASE
            WHEN failed_login_attempts + 1 < after_n THEN locked_until
            ELSE greatest(locked_until, now() + least(
                longest, base * power(2, least(failed_login_attempts + 1 - after_n, 30))))
        END
    WHERE id = p_user AND deleted_at IS NULL
    RETURNING locked_until INTO until;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user % (or not one this role may see)', p_user
            USING ERRCODE = 'no_data_found';
    END IF;
    RETURN until;
END
$$;

CREATE FUNCTION pbl_record_login_success(p_user uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u record;
BEGIN
    SELECT locked_until, is_active INTO u
    FROM public.users WHERE id = p_user AND deleted_at IS NULL
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user % (or not one this role may see)', p_user
            USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT u.is_active THEN
        RAISE EXCEPTION 'user % is disabled', p_user
            USING ERRCODE = 'PBL02', HINT = 'an administrator enables it again';
    END IF;
    -- a lock still running is refused by the trigger below
    UPDATE public.users
    SET failed_login_attempts = 0, locked_until = NULL, last_login_at = now()
    WHERE id = p_user;
END
$$;

CREATE FUNCTION pbl_users_refuse_locked_login() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'user % is locked until %', OLD.id, OLD.locked_until
        USING ERRCODE = 'PBL01',
              HINT = 'wait until then, or an administrator unlocks it (pbl users unlock)';
END
$$;

CREATE TRIGGER users_refuse_locked_login BEFORE UPDATE OF last_login_at ON users
    FOR EACH ROW
    WHEN (NEW.last_login_at IS DISTINCT FROM OLD.last_login_at AND OLD.locked_until > now())
    EXECUTE FUNCTION pbl_users_refuse_locked_login();

ALTER FUNCTION pbl_lockout_setting(text, text) OWNER TO pbl_owner;

ALTER FUNCTION pbl_record_login_failure(uuid) OWNER TO pbl_owner;

ALTER FUNCTION pbl_record_login_success(uuid) OWNER TO pbl_owner;

ALTER FUNCTION pbl_users_refuse_locked_login() OWNER TO pbl_owner;

REVOKE ALL ON FUNCTION pbl_record_login_failure(uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_record_login_success(uuid) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pbl_record_login_failure(uuid) TO application_user;

GRANT EXECUTE ON FUNCTION pbl_record_login_success(uuid) TO application_user;
