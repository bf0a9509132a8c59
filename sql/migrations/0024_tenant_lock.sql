-- A tenant context that cannot be switched (issue 17). pbl_lock_tenant(t), called at the start of
-- a transaction, sets app.current_tenant_id to t and seals it for that transaction; every later
-- query on a tenant table (and the services' SECURITY DEFINER readers) refuses with PBL05 if the
-- setting was changed, reset or unsealed. Roles that are members of pbl_tenant_lock_required
-- must use it; for every other role the plain SET keeps working as before.
--
-- The check is a RESTRICTIVE policy whose expression is an uncorrelated sub-select, so it runs
-- once per query (an InitPlan), not once per row, and pbl_current_tenant_id() stays the cheap
-- inlinable function the planner folds into its estimates.
--
-- Why a seal and an advisory lock: a session can change any custom setting (app.*, pbl.*), so
-- the tenant is accepted only with a seal it cannot compute (a hash keyed by a secret only
-- pbl_owner reads, bound to the tenant and to the transaction's start time), and
-- pbl_lock_tenant() takes a transaction-level advisory lock, which a session cannot release
-- early, so "this transaction already locked a tenant" survives a RESET of the seal. Both work on
-- hot standbys (no write is needed), and parallel workers share the leader's transaction start.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pbl_tenant_lock_required') THEN
        CREATE ROLE pbl_tenant_lock_required NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

CREATE TABLE pbl_tenant_lock_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret bytea NOT NULL
);
ALTER TABLE pbl_tenant_lock_key OWNER TO pbl_owner;
REVOKE ALL ON pbl_tenant_lock_key FROM PUBLIC;

-- 256 bits from the server's strong random source (gen_random_uuid uses pg_strong_random).
INSERT INTO pbl_tenant_lock_key (secret)
SELECT pg_catalog.sha256(pg_catalog.convert_to(
    gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8'));

-- The seal of tenant for the current transaction. pbl_owner only: whoever can call it can forge.
CREATE FUNCTION pbl_tenant_seal(tenant uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.encode(pg_catalog.sha256(
    k.secret || pg_catalog.uuid_send(tenant) || pg_catalog.timestamptz_send(pg_catalog.now())
    || k.secret), 'hex')
FROM public.pbl_tenant_lock_key AS k
$$;
ALTER FUNCTION pbl_tenant_seal(uuid) OWNER TO pbl_owner;
REVOKE EXECUTE ON FUNCTION pbl_tenant_seal(uuid) FROM PUBLIC;

CREATE FUNCTION pbl_tenant_seal_matches(tenant uuid, seal text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT seal = public.pbl_tenant_seal(tenant) $$;
ALTER FUNCTION pbl_tenant_seal_matches(uuid, text) OWNER TO pbl_owner;

-- Whether this transaction has called pbl_lock_tenant(): its advisory lock (key 1347505228 =
-- 'PBLL', then the backend's pid) is held until the transaction ends.
CREATE FUNCTION pbl_tenant_lock_held() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
SELECT EXISTS (
    SELECT FROM pg_catalog.pg_locks AS l
    WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid()
      AND l.classid = 1347505228 AND l.objid = pg_catalog.pg_backend_pid()::oid
      AND l.objsubid = 2 AND l.granted)
$$;
ALTER FUNCTION pbl_tenant_lock_held() OWNER TO pbl_owner;

-- Whether the role at hand must lock its tenant: the current role, or (inside SECURITY DEFINER
-- functions and FORCEd policies seen by pbl_owner) the login role, when a member of
-- pbl_tenant_lock_required. Superusers are members of every role, so they are left out.
-- to_regrole: a dropped role means "nobody", not an error in every query.
CREATE FUNCTION pbl_tenant_lock_required() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
SELECT CASE
    WHEN pg_catalog.to_regrole('pbl_tenant_lock_required') IS NULL THEN false
    WHEN pg_catalog.current_setting('is_superuser') = 'off'
         AND pg_catalog.pg_has_role(current_user,
                 pg_catalog.to_regrole('pbl_tenant_lock_required'), 'MEMBER') THEN true
    WHEN session_user = current_user THEN false
    ELSE pg_catalog.pg_has_role(session_user,
             pg_catalog.to_regrole('pbl_tenant_lock_required'), 'MEMBER')
         AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user)
END
$$;
ALTER FUNCTION pbl_tenant_lock_required() OWNER TO pbl_owner;

-- true, or PBL05 when the tenant of this transaction is not the one pbl_lock_tenant() sealed,
-- or the role must lock and has not. No tenant at all is fine: policies then match no row.
-- PARALLEL RESTRICTED: it reads this backend's locks, so only the leader may run it.
CREATE FUNCTION pbl_tenant_context_check() RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    AS $$
DECLARE
    tenant constant text := nullif(pg_catalog.current_setting('app.current_tenant_id', true), '');
    seal constant text := pg_catalog.current_setting('pbl.tenant_seal', true);
BEGIN
    IF seal <> '' THEN
        IF tenant IS NOT NULL AND public.pbl_tenant_seal_matches(tenant::pg_catalog.uuid, seal) THEN
            RETURN true;
        END IF;
        RAISE EXCEPTION 'the tenant of this transaction is locked: app.current_tenant_id was changed after pbl_lock_tenant()'
            USING ERRCODE = 'PBL05',
                  HINT = 'a transaction serves one tenant: commit, then call pbl_lock_tenant() for the next';
    END IF;
    IF tenant IS NULL THEN
        RETURN true;
    END IF;
    -- seal '' (not NULL): this session has locked before, so this transaction may have too
    IF seal IS NOT NULL AND public.pbl_tenant_lock_held() THEN
        RAISE EXCEPTION 'the tenant of this transaction is locked: its seal (pbl.tenant_seal) was removed after pbl_lock_tenant()'
            USING ERRCODE = 'PBL05',
                  HINT = 'a transaction serves one tenant: commit, then call pbl_lock_tenant() for the next';
    END IF;
    IF public.pbl_tenant_lock_required() THEN
        RAISE EXCEPTION 'role % must set its tenant with pbl_lock_tenant(), not app.current_tenant_id', session_user
            USING ERRCODE = 'PBL05',
                  HINT = 'call SELECT pbl_lock_tenant(''<tenant uuid>'') at the start of the transaction';
    END IF;
    RETURN true;
END
$$;
ALTER FUNCTION pbl_tenant_context_check() OWNER TO pbl_owner;

CREATE FUNCTION pbl_lock_tenant(tenant uuid) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'pbl_lock_tenant() needs a tenant id, not NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF public.pbl_tenant_lock_held() THEN
        IF current_setting('app.current_tenant_id', true) = tenant::text
           AND public.pbl_tenant_seal_matches(tenant, current_setting('pbl.tenant_seal', true)) THEN
            RETURN tenant;  -- the same tenant again: nothing changes
        END IF;
        RAISE EXCEPTION 'the tenant of this transaction is already locked'
            USING ERRCODE = 'PBL05',
                  HINT = 'a transaction serves one tenant: commit, then call pbl_lock_tenant() for the next';
    END IF;
    PERFORM pg_advisory_xact_lock(1347505228, pg_backend_pid());
    PERFORM set_config('app.current_tenant_id', tenant::text, true);
    PERFORM set_config('pbl.tenant_seal', public.pbl_tenant_seal(tenant), true);
    RETURN tenant;
END
$$;
ALTER FUNCTION pbl_lock_tenant(uuid) OWNER TO pbl_owner;

-- Every table with a tenant policy gets the check, for reads and writes.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT p.tablename FROM pg_catalog.pg_policies AS p
             WHERE p.schemaname = 'public' AND p.policyname = 'tenant_isolation' LOOP
        EXECUTE format(
            'CREATE POLICY tenant_lock ON public.%I AS RESTRICTIVE '
            'USING ((SELECT public.pbl_tenant_context_check())) '
            'WITH CHECK ((SELECT public.pbl_tenant_context_check()))', t.tablename);
    END LOOP;
END
$$;

-- The services' SECURITY DEFINER readers run as pbl_owner, whom these tables' policies do not
-- bind: they check the context themselves.
CREATE OR REPLACE FUNCTION pbl_application_stats_epoch() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN public.pbl_current_tenant_id() IS NOT NULL AND public.pbl_tenant_context_check() THEN
    (SELECT coalesce(sum(epoch), 0)::bigint FROM public.application_stats_epochs
     WHERE tenant_id = public.pbl_current_tenant_id())
    + (SELECT coalesce(sum(epoch), 0)::bigint FROM public.application_stats_truncations)
END
$$;

CREATE OR REPLACE FUNCTION pbl_tenant_usage()
    RETURNS TABLE (quota text, used bigint, quota_limit bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT q.quota, q.used, q.quota_limit
FROM public.tenant_usage AS u
LEFT JOIN LATERAL (
    SELECT sum(x.applications) AS applications FROM public.tenant_monthly_usage AS x
    WHERE x.tenant_id = u.tenant_id AND x.month = public.pbl_quota_month(now())
) AS m ON true
CROSS JOIN LATERAL (VALUES
    ('max_users', u.users, u.max_users::bigint),
    ('max_devices', u.devices, u.max_devices::bigint),
    ('max_applications_per_month', coalesce(m.applications, 0), u.max_applications_per_month::bigint)
) AS q (quota, used, quota_limit)
WHERE u.tenant_id = public.pbl_current_tenant_id() AND (SELECT public.pbl_tenant_context_check())
$$;
