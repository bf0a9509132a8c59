-- Where a user's email must be unique (issue 17). 'global', the default, is the spec's
-- UNIQUE (email): one account per email on the whole platform, which tells any tenant that
-- tries an email whether it exists in another tenant. 'tenant' makes it UNIQUE (tenant_id,
-- email), so tenants cannot probe each other, and the same person may hold accounts in several
-- tenants. pbl_set_users_email_scope() switches; this migration changes nothing by itself.
--
-- Forms: global = constraint idx_users_email UNIQUE (email);
--        tenant = constraint users_tenant_email_key UNIQUE (tenant_id, email) plus a plain
--                 index idx_users_email (email), so lookups by email alone stay indexed.

CREATE FUNCTION pbl_users_email_scope() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN EXISTS (
    SELECT FROM pg_catalog.pg_constraint
    WHERE conrelid = 'public.users'::regclass AND conname = 'users_tenant_email_key'
) THEN 'tenant' ELSE 'global' END
$$;
ALTER FUNCTION pbl_users_email_scope() OWNER TO pbl_owner;

-- Switch to scope ('global' or 'tenant'); returns the scope it was. Takes users' SHARE lock
-- while the new unique index is built (writes wait; reads go on). Going back to 'global' fails
-- with 23505 while an email is used in more than one tenant.
CREATE FUNCTION pbl_set_users_email_scope(scope text) RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    was constant text := public.pbl_users_email_scope();
BEGIN
    IF scope IS NULL OR scope NOT IN ('global', 'tenant') THEN
        RAISE EXCEPTION 'email scope must be global or tenant, not %', coalesce(scope, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF scope = was THEN
        RETURN was;
    END IF;
    IF scope = 'tenant' THEN
        ALTER TABLE public.users ADD CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email);
        ALTER TABLE public.users DROP CONSTRAINT idx_users_email;
        CREATE INDEX idx_users_email ON public.users (email);
    ELSE
        DROP INDEX public.idx_users_email;
        BEGIN
            ALTER TABLE public.users ADD CONSTRAINT idx_users_email UNIQUE (email);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'some emails are used by users of more than one tenant: they cannot be unique across tenants'
                USING ERRCODE = 'unique_violation',
                      HINT = 'SELECT email FROM users GROUP BY email HAVING count(DISTINCT tenant_id) > 1 (as a superuser) lists them';
        END;
        ALTER TABLE public.users DROP CONSTRAINT users_tenant_email_key;
    END IF;
    RETURN was;
END
$$;
ALTER FUNCTION pbl_set_users_email_scope(text) OWNER TO pbl_owner;
REVOKE EXECUTE ON FUNCTION pbl_set_users_email_scope(text) FROM PUBLIC;
