-- Undo 0024_tenant_lock. The role pbl_tenant_lock_required is cluster-wide: it is dropped only
-- when no database's object, grant or member uses it, and the migrating role may drop it.
CREATE OR REPLACE FUNCTION pbl_application_stats_epoch() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN public.pbl_current_tenant_id() IS NOT NULL THEN
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
WHERE u.tenant_id = public.pbl_current_tenant_id()
$$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT p.tablename FROM pg_catalog.pg_policies AS p
             WHERE p.schemaname = 'public' AND p.policyname = 'tenant_lock' LOOP
        EXECUTE format('DROP POLICY tenant_lock ON public.%I', t.tablename);
    END LOOP;
END
$$;

DROP FUNCTION pbl_lock_tenant(uuid);
DROP FUNCTION pbl_tenant_context_check();
DROP FUNCTION pbl_tenant_lock_required();
DROP FUNCTION pbl_tenant_lock_held();
DROP FUNCTION pbl_tenant_seal_matches(uuid, text);
DROP FUNCTION pbl_tenant_seal(uuid);
DROP TABLE pbl_tenant_lock_key;

DO $$
DECLARE
    role_oid constant oid := pg_catalog.to_regrole('pbl_tenant_lock_required');
BEGIN
    IF role_oid IS NOT NULL
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_shdepend
                       WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = role_oid)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members AS m
                       WHERE m.roleid = role_oid OR m.member = role_oid) THEN
        BEGIN
            DROP ROLE pbl_tenant_lock_required;
        EXCEPTION WHEN insufficient_privilege THEN
            -- from PostgreSQL 16 only a role with ADMIN OPTION on it may drop it: a migrating
            -- role that did not create it leaves it (it grants nothing by itself)
            RAISE NOTICE 'role pbl_tenant_lock_required left in place: % may not drop it', current_user;
        END;
    END IF;
END
$$;
