-- Tenant quotas and suspension, enforced by the database for every client (docs/tenants.md).
--
-- Quotas: tenants.max_users and max_devices bound the tenant's live (not soft-deleted) users and
-- devices; max_applications_per_month bounds the applications created (created_at) in each UTC
-- calendar month, soft-deleted ones included. Counters hold what is used; a change that would
-- take one over its limit is refused with SQLSTATE PBL03, naming tenant, quota and limit. A
-- limit lowered below what is used refuses new rows and keeps the existing ones.
--
-- Race safety. Seats (users, devices: rare writes) have one counter row per tenant, taken by an
-- upsert that re-checks the limit on the row it has locked. Applications (many concurrent
-- writers per tenant) use escrow: a month's limit is split over 16 slot rows, each holding an
-- allowance; a writer takes from a slot no other transaction holds (SKIP LOCKED), so writers of
-- one tenant do not wait for each other. A slot that runs dry takes spare allowance from slots
-- nobody holds; only when that is not enough does the writer lock every slot (waiting for the
-- writers that hold them), count what is really used and split what is left. The sum of the
-- allowances never exceeds the limit, so concurrent sessions at the limit leave exactly the
-- limit. Near the limit, two such waiting writers can deadlock: one of them fails with 40P01
-- (retry it), never with more rows than the limit.
--
-- Suspension: tenants.is_active = false. A session subject to row-level security (the
-- services) may still read the tenant's rows but may not insert, update or delete its
-- applications, devices or users (SQLSTATE PBL04). Administrators (superusers, BYPASSRLS roles)
-- still can: GDPR erasure and retention must work on a suspended tenant. audit_logs is never
-- refused: evidence is always written.
-- One row per tenant: its limits, copied from tenants by a trigger (the quota functions run as
-- pbl_owner, which forced row-level security keeps from reading other tenants' rows), and its
-- live users and devices.
CREATE TABLE tenant_usage (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    slug varchar(100) NOT NULL,
    max_users integer NOT NULL,
    max_devices integer NOT NULL,
    max_applications_per_month integer NOT NULL,
    users bigint NOT NULL DEFAULT 0,
    devices bigint NOT NULL DEFAULT 0,
    CONSTRAINT tenant_usage_nonnegative CHECK (users >= 0 AND devices >= 0)
);

CREATE TABLE tenant_monthly_usage (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month date NOT NULL,
    slot integer NOT NULL,
    applications bigint NOT NULL DEFAULT 0,  -- taken through this slot
    allowance bigint NOT NULL DEFAULT 0,  -- how many this slot may hold
    quota_limit bigint NOT NULL,  -- the limit the allowances were split from
    PRIMARY KEY (tenant_id, month, slot),
    CONSTRAINT tenant_monthly_usage_first_of_month CHECK (extract(day FROM month) = 1),
    CONSTRAINT tenant_monthly_usage_slot_range CHECK (slot BETWEEN 0 AND 15),
    CONSTRAINT tenant_monthly_usage_nonnegative CHECK (applications >= 0 AND allowance >= 0)
);

ALTER TABLE tenant_usage OWNER TO pbl_owner;

ALTER TABLE tenant_monthly_usage OWNER TO pbl_owner;

-- Readers other than the owner (pbl_reporting) see their tenant's counters only; the quota
-- functions run as the owner, which row-level security leaves alone here (not FORCEd).
ALTER TABLE tenant_usage ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON tenant_usage USING (tenant_id = pbl_current_tenant_id());

ALTER TABLE tenant_monthly_usage ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON tenant_monthly_usage
    USING (tenant_id = pbl_current_tenant_id());

-- Keeps tenant_usage's copy of a tenant's slug and limits.
CREATE FUNCTION pbl_quota_limits_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO public.tenant_usage AS u
        (tenant_id, slug, max_users, max_devices, max_applications_per_month)
    VALUES (NEW.id, NEW.slug, NEW.max_users, NEW.max_devices, NEW.max_applications_per_month)
    ON CONFLICT (tenant_id) DO UPDATE
    SET slug = excluded.slug, max_users = excluded.max_users, max_devices = excluded.max_devices,
        max_applications_per_month = excluded.max_applications_per_month;
    RETURN NULL;
END
$$;

-- No SET search_path: that would keep the planner from inlining it into the per-row GROUP BY
-- of the triggers (it names built-ins only, and pg_catalog is always searched first).
CREATE FUNCTION pbl_quota_month(p_created timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('month', p_created AT TIME ZONE 'UTC')::date $$;

-- Applications of one tenant and UTC month, by escrow (see the top of this file): adds p_n
-- (negative: gives back); false when the limit has no room for p_n. Called only by the quota
-- functions, which pin search_path (a SET clause here would cost every insert its overhead).
CREATE FUNCTION pbl_quota_take_month(p_tenant uuid, p_month date, p_n bigint)
    RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    preferred constant integer := pg_backend_pid() % 16;
    lim bigint;
    mine integer;
    have bigint;
    need bigint;
    take bigint;
    total bigint;
    spare bigint;
    r record;
BEGIN
    IF p_n < 0 THEN
        -- give back: lock the slots in order and take the rows off them; the room stays
        -- with each slot as spare allowance
        need := -p_n;
        FOR r IN SELECT slot, applications FROM public.tenant_monthly_usage
                 WHERE tenant_id = p_tenant AND month = p_month AND applications > 0
                 ORDER BY slot FOR UPDATE LOOP
            take := least(r.applications, need);
            UPDATE public.tenant_monthly_usage SET applications = applications - take
            WHERE tenant_id = p_tenant AND month = p_month AND slot = r.slot;
            need := need - take;
            EXIT WHEN need = 0;
        END LOOP;
        RETURN true;
    END IF;
    FOR attempt IN 1..2 LOOP
        -- the common case, in one statement: a slot nobody else holds, split from today's
        -- limit, with room for p_n
        UPDATE public.tenant_monthly_usage SET applications = applications + p_n
        WHERE tenant_id = p_tenant AND month = p_month AND slot = (
            SELECT x.slot FROM public.tenant_monthly_usage AS x
            WHERE x.tenant_id = p_tenant AND x.month = p_month
              AND x.quota_limit = (SELECT l.max_applications_per_month
                                   FROM public.tenant_usage AS l WHERE l.tenant_id = p_tenant)
              AND x.allowance - x.applications >= p_n
            ORDER BY (x.slot + 16 - preferred) % 16
            LIMIT 1
            FOR UPDATE SKIP LOCKED)
        RETURNING slot INTO mine;
        IF FOUND THEN
            RETURN true;
        END IF;
        SELECT max_applications_per_month INTO lim
        FROM public.tenant_usage WHERE tenant_id = p_tenant;
        IF lim IS NULL OR p_n > lim THEN
            RETURN false;
        END IF;
        EXIT WHEN EXISTS (SELECT FROM public.tenant_monthly_usage
                          WHERE tenant_id = p_tenant AND month = p_month);
        -- the month's first writer splits the limit over 16 slots
        INSERT INTO public.tenant_monthly_usage (tenant_id, month, slot, allowance, quota_limit)
        SELECT p_tenant, p_month, s, lim / 16 + CASE WHEN s < lim % 16 THEN 1 ELSE 0 END,
               lim
        FROM generate_series(0, 15) AS s
        ON CONFLICT DO NOTHING;
    END LOOP;
    -- no slot has room: take a slot and pull spare allowance from the slots nobody holds
    SELECT slot, allowance - applications AS free, quota_limit = lim AS current INTO r
    FROM public.tenant_monthly_usage
    WHERE tenant_id = p_tenant AND month = p_month
    ORDER BY (slot + 16 - preferred) % 16
    LIMIT 1
    FOR UPDATE SKIP LOCKED;
    mine := r.slot;
    IF FOUND AND r.current THEN
        have := r.free;
        FOR r IN SELECT slot, allowance - applications AS free FROM public.tenant_monthly_usage
                 WHERE tenant_id = p_tenant AND month = p_month AND slot <> mine
                   AND quota_limit = lim AND allowance > applications
                 ORDER BY slot
                 FOR UPDATE SKIP LOCKED LOOP
            -- half a donor's spare at least: the next writers of this slot need not steal again
            take := least(r.free, greatest(p_n - have, r.free / 2));
            UPDATE public.tenant_monthly_usage SET allowance = allowance - take
            WHERE tenant_id = p_tenant AND month = p_month AND slot = r.slot;
            have := have + take;
            EXIT WHEN have >= p_n;
        END LOOP;
        UPDATE public.tenant_monthly_usage
        SET allowance = applications + have,
            applications = applications + CASE WHEN have >= p_n THEN p_n ELSE 0 END
        WHERE tenant_id = p_tenant AND month = p_month AND slot = mine;
        IF have >= p_n THEN
            RETURN true;
        END IF;
    END IF;
    -- still short (or the limit changed): lock every slot, waiting for their writers, count
    -- what is used and split the rest
    PERFORM FROM public.tenant_monthly_usage
    WHERE tenant_id = p_tenant AND month = p_month ORDER BY slot FOR UPDATE;
    SELECT max_applications_per_month INTO lim FROM public.tenant_usage WHERE tenant_id = p_tenant;
    SELECT sum(applications) INTO total FROM public.tenant_monthly_usage
    WHERE tenant_id = p_tenant AND month = p_month;
    IF total + p_n > lim THEN
        RETURN false;
    END IF;
    mine := coalesce(mine, preferred);
    spare := lim - total - p_n;
    UPDATE public.tenant_monthly_usage
    SET applications = applications + CASE WHEN slot = mine THEN p_n ELSE 0 END,
        allowance = applications + CASE WHEN slot = mine THEN p_n ELSE 0 END
                    + spare / 16 + CASE WHEN slot < spare % 16 THEN 1 ELSE 0 END,
        quota_limit = lim
    WHERE tenant_id = p_tenant AND month = p_month;
    RETURN true;
END
$$;

-- Adds p_n (negative: gives back) to one of the tenant's counters; refuses to pass its limit.
CREATE FUNCTION pbl_quota_take(p_tenant uuid, p_quota text, p_month date, p_n bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t record;
    lim bigint;
    used bigint;
BEGIN
    IF p_n = 0 THEN
        RETURN;
    END IF;
    SELECT slug, max_users, max_devices, max_applications_per_month INTO t
    FROM public.tenant_usage WHERE tenant_id = p_tenant;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no quota record for tenant %', p_tenant
            USING ERRCODE = 'PBL05',
                  HINT = 'the tenant was made with triggers off: run pbl tenants usage --recount';
    END IF;
    lim := CASE p_quota WHEN 'max_users' THEN t.max_users
                        WHEN 'max_devices' THEN t.max_devices
                        ELSE t.max_applications_per_month END;
    IF p_quota = 'max_applications_per_month' THEN
        IF NOT public.pbl_quota_take_month(p_tenant, p_month, p_n) THEN
            used := NULL;
        ELSE
            RETURN;
        END IF;
    ELSIF p_n > lim THEN
        used := NULL;
    ELSIF p_quota = 'max_users' THEN
        UPDATE public.tenant_usage SET users = greatest(users + p_n, 0)
        WHERE tenant_id = p_tenant AND (p_n < 0 OR users + p_n <= lim)
        RETURNING users INTO used;
    ELSE
        UPDATE public.tenant_usage SET devices = greatest(devices + p_n, 0)
        WHERE tenant_id = p_tenant AND (p_n < 0 OR devices + p_n <= lim)
        RETURNING devices INTO used;
    END IF;
    IF used IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'PBL03',
            MESSAGE = format('tenant %s is at its %s quota of %s%s', t.slug, p_quota, lim,
                             CASE WHEN p_month IS NULL THEN ''
                                  ELSE ' for ' || to_char(p_month, 'YYYY-MM') END),
            DETAIL = format('tenant %s, quota %s, limit %s, adding %s', p_tenant, p_quota, lim, p_n),
            HINT = format('raise the limit (pbl tenants update --%s) or remove rows first',
                          replace(p_quota, '_', '-'));
    END IF;
END
$$;

-- INSERT (and COPY) into users and devices: once per statement, per tenant, in tenant order so
-- that two multi-tenant statements do not deadlock on the counters.
CREATE FUNCTION pbl_quota_seats_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    quota constant text := 'max_' || TG_TABLE_NAME;
    r record;
BEGIN
    FOR r IN SELECT tenant_id, count(*) AS n FROM pbl_new WHERE deleted_at IS NULL
             GROUP BY tenant_id ORDER BY tenant_id LOOP
        PERFORM public.pbl_quota_take(r.tenant_id, quota, NULL, r.n);
    END LOOP;
    RETURN NULL;
END
$$;

-- DELETE from users and devices: the live rows deleted give their seats back.
CREATE FUNCTION pbl_quota_seats_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    quota constant text := 'max_' || TG_TABLE_NAME;
    r record;
BEGIN
    FOR r IN SELECT tenant_id, count(*) AS n FROM pbl_old WHERE deleted_at IS NULL
             GROUP BY tenant_id ORDER BY tenant_id LOOP
        PERFORM public.pbl_quota_take(r.tenant_id, quota, NULL, -r.n);
    END LOOP;
    RETURN NULL;
END
$$;

-- UPDATE of users and devices that soft-deletes, restores or moves a row (the trigger's WHEN
-- passes only those): give back first, then take.
CREATE FUNCTION pbl_quota_seats_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    quota constant text := 'max_' || TG_TABLE_NAME;
BEGIN
    IF OLD.deleted_at IS NULL THEN
        PERFORM public.pbl_quota_take(OLD.tenant_id, quota, NULL, -1);
    END IF;
    IF NEW.deleted_at IS NULL THEN
        PERFORM public.pbl_quota_take(NEW.tenant_id, quota, NULL, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION pbl_quota_applications_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT tenant_id, public.pbl_quota_month(created_at) AS month, count(*) AS n
             FROM pbl_new GROUP BY 1, 2 ORDER BY 1, 2 LOOP
        IF NOT public.pbl_quota_take_month(r.tenant_id, r.month, r.n) THEN
            -- no room: pbl_quota_take tries once more and raises the refusal
            PERFORM public.pbl_quota_take(r.tenant_id, 'max_applications_per_month', r.month, r.n);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- A hard DELETE (retention, never the services) gives the month back, so the counters stay
-- equal to count(*); a soft delete does not: the application was made that month.
CREATE FUNCTION pbl_quota_applications_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT tenant_id, public.pbl_quota_month(created_at) AS month, count(*) AS n
             FROM pbl_old GROUP BY 1, 2 ORDER BY 1, 2 LOOP
        PERFORM public.pbl_quota_take(r.tenant_id, 'max_applications_per_month', r.month, -r.n);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION pbl_quota_applications_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM public.pbl_quota_take(OLD.tenant_id, 'max_applications_per_month',
                                  public.pbl_quota_month(OLD.created_at), -1);
    PERFORM public.pbl_quota_take(NEW.tenant_id, 'max_applications_per_month',
                                  public.pbl_quota_month(NEW.created_at), 1);
    RETURN NULL;
END
$$;

-- TRUNCATE empties the table: its counters go back to zero.
CREATE FUNCTION pbl_quota_truncated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'applications' THEN
        DELETE FROM public.tenant_monthly_usage;
    ELSIF TG_TABLE_NAME = 'users' THEN
        UPDATE public.tenant_usage SET users = 0 WHERE users <> 0;
    ELSE
        UPDATE public.tenant_usage SET devices = 0 WHERE devices <> 0;
    END IF;
    RETURN NULL;
END
$$;

-- Sets the counters of one tenant (NULL: every tenant) to what its rows hold now: after rows
-- were changed with triggers off (session_replication_role = replica, a data-only restore).
-- Returns the number of counters that were wrong.
CREATE FUNCTION pbl_quota_recount(p_tenant uuid DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    -- a role that row-level security limits gets an error, not a count of what it may see
    SET row_security = off
    AS $$
DECLARE
    fixed bigint := 0;
    n bigint;
    w record;
BEGIN
    -- the counters first, so writers that take them wait until the recount commits
    PERFORM 1 FROM public.tenant_usage WHERE p_tenant IS NULL OR tenant_id = p_tenant FOR UPDATE;
    PERFORM 1 FROM public.tenant_monthly_usage
    WHERE p_tenant IS NULL OR tenant_id = p_tenant FOR UPDATE;
    WITH actual AS (
        SELECT t.id AS tenant_id, t.slug, t.max_users, t.max_devices,
               t.max_applications_per_month,
               (SELECT count(*) FROM public.users AS x
                WHERE x.tenant_id = t.id AND x.deleted_at IS NULL) AS users,
               (SELECT count(*) FROM public.devices AS x
                WHERE x.tenant_id = t.id AND x.deleted_at IS NULL) AS devices
        FROM public.tenants AS t WHERE p_tenant IS NULL OR t.id = p_tenant
    ), written AS (
        INSERT INTO public.tenant_usage AS u
            (tenant_id, slug, max_users, max_devices, max_applications_per_month, users, devices)
        SELECT * FROM actual
        ON CONFLICT (tenant_id) DO UPDATE
        SET slug = excluded.slug, max_users = excluded.max_users,
            max_devices = excluded.max_devices,
            max_applications_per_month = excluded.max_applications_per_month,
            users = excluded.users, devices = excluded.devices
            WHERE (u.slug, u.max_users, u.max_devices, u.max_applications_per_month, u.users,
                   u.devices)
                  IS DISTINCT FROM (excluded.slug, excluded.max_users, excluded.max_devices,
                                    excluded.max_applications_per_month, excluded.users,
                                    excluded.devices)
        RETURNING 1
    )
    SELECT count(*) INTO n FROM written;
    fixed := fixed + n;
    -- months whose slots do not add up to the rows get fresh slots: the count in slot 0, the
    -- rest of the limit split over the 16
    n := 0;
    FOR w IN
        WITH actual AS (
            SELECT tenant_id, public.pbl_quota_month(created_at) AS month, count(*) AS applications
            FROM public.applications WHERE p_tenant IS NULL OR tenant_id = p_tenant
            GROUP BY 1, 2
        ), counted AS (
            SELECT tenant_id, month, sum(applications) AS applications
            FROM public.tenant_monthly_usage WHERE p_tenant IS NULL OR tenant_id = p_tenant
            GROUP BY 1, 2
        )
        SELECT coalesce(a.tenant_id, c.tenant_id) AS tenant_id,
               coalesce(a.month, c.month) AS month, coalesce(a.applications, 0) AS applications
        FROM actual AS a FULL JOIN counted AS c ON c.tenant_id = a.tenant_id AND c.month = a.month
        WHERE a.applications IS DISTINCT FROM c.applications
    LOOP
        DELETE FROM public.tenant_monthly_usage WHERE tenant_id = w.tenant_id AND month = w.month;
        INSERT INTO public.tenant_monthly_usage
            (tenant_id, month, slot, applications, allowance, quota_limit)
        SELECT w.tenant_id, w.month, s.slot,
               CASE WHEN s.slot = 0 THEN w.applications ELSE 0 END,
               CASE WHEN s.slot = 0 THEN w.applications ELSE 0 END
               + greatest(t.max_applications_per_month - w.applications, 0) / 16
               + CASE WHEN s.slot < greatest(t.max_applications_per_month - w.applications, 0) % 16
                      THEN 1 ELSE 0 END,
               t.max_applications_per_month
        FROM public.tenants AS t CROSS JOIN generate_series(0, 15) AS s (slot)
        WHERE t.id = w.tenant_id AND w.applications > 0;
        n := n + 1;
    END LOOP;
    RETURN fixed + n;
END
$$;

-- What the current tenant uses of each quota this month, for the services (they cannot read the
-- counters themselves).
CREATE FUNCTION pbl_tenant_usage()
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

-- Suspension: once per statement. A session that row-level security limits to the current
-- tenant can only write that tenant's rows, so the current tenant is the one to check.
CREATE FUNCTION pbl_refuse_suspended_tenant() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tenant constant uuid := public.pbl_current_tenant_id();
    t record;
BEGIN
    IF tenant IS NULL OR NOT row_security_active(TG_RELID) THEN
        RETURN NULL;
    END IF;
    SELECT slug, is_active INTO t FROM public.tenants WHERE id = tenant;
    IF FOUND AND NOT t.is_active THEN
        RAISE EXCEPTION 'tenant % is suspended: its % are read-only', t.slug, TG_TABLE_NAME
            USING ERRCODE = 'PBL04', HINT = 'an administrator resumes it (pbl tenants resume)';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_quota_limits
    AFTER INSERT OR UPDATE OF slug, max_users, max_devices, max_applications_per_month ON tenants
    FOR EACH ROW EXECUTE FUNCTION pbl_quota_limits_changed();

CREATE TRIGGER users_quota_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS pbl_new
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_seats_inserted();

CREATE TRIGGER users_quota_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS pbl_old
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_seats_deleted();

CREATE TRIGGER users_quota_update AFTER UPDATE OF tenant_id, deleted_at ON users
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION pbl_quota_seats_updated();

CREATE TRIGGER users_quota_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_truncated();

CREATE TRIGGER devices_quota_insert AFTER INSERT ON devices
    REFERENCING NEW TABLE AS pbl_new
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_seats_inserted();

CREATE TRIGGER devices_quota_delete AFTER DELETE ON devices
    REFERENCING OLD TABLE AS pbl_old
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_seats_deleted();

CREATE TRIGGER devices_quota_update AFTER UPDATE OF tenant_id, deleted_at ON devices
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION pbl_quota_seats_updated();

CREATE TRIGGER devices_quota_truncate AFTER TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_truncated();

CREATE TRIGGER applications_quota_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS pbl_new
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_applications_inserted();

CREATE TRIGGER applications_quota_delete AFTER DELETE ON applications
    REFERENCING OLD TABLE AS pbl_old
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_applications_deleted();

CREATE TRIGGER applications_quota_update AFTER UPDATE OF tenant_id, created_at ON applications
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR pbl_quota_month(OLD.created_at) <> pbl_quota_month(NEW.created_at))
    EXECUTE FUNCTION pbl_quota_applications_updated();

CREATE TRIGGER applications_quota_truncate AFTER TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_quota_truncated();

CREATE TRIGGER users_refuse_suspended BEFORE INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_refuse_suspended_tenant();

CREATE TRIGGER devices_refuse_suspended BEFORE INSERT OR UPDATE OR DELETE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_refuse_suspended_tenant();

CREATE TRIGGER applications_refuse_suspended BEFORE INSERT OR UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_refuse_suspended_tenant();

-- The counters start from the rows there are. A migrating role that forced row-level security
-- limits cannot count them: it may migrate a database without tenants only.
DO $$
BEGIN
    IF NOT row_security_active('tenants') THEN
        PERFORM pbl_quota_recount();
    ELSIF pg_relation_size('tenants') > 0 THEN
        RAISE EXCEPTION 'migration 0022 must count every tenant''s rows, and row-level security limits %', current_user
            USING HINT = 'apply it as a superuser or a BYPASSRLS role';
    END IF;
END
$$;

-- The services may change a tenant's own details, never its plan, quotas or suspension.
REVOKE UPDATE ON tenants FROM application_user;

GRANT UPDATE (name, domain, settings, feature_flags, billing_email, billing_address)
    ON tenants TO application_user;

GRANT SELECT ON tenant_usage, tenant_monthly_usage TO pbl_reporting;

ALTER FUNCTION pbl_quota_month(timestamptz) OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_limits_changed() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_take_month(uuid, date, bigint) OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_take(uuid, text, date, bigint) OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_seats_inserted() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_seats_deleted() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_seats_updated() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_applications_inserted() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_applications_deleted() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_applications_updated() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_truncated() OWNER TO pbl_owner;

ALTER FUNCTION pbl_quota_recount(uuid) OWNER TO pbl_owner;

ALTER FUNCTION pbl_tenant_usage() OWNER TO pbl_owner;

ALTER FUNCTION pbl_refuse_suspended_tenant() OWNER TO pbl_owner;

REVOKE ALL ON FUNCTION pbl_quota_take_month(uuid, date, bigint) FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_quota_take(uuid, text, date, bigint) FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_quota_recount(uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_tenant_usage() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pbl_tenant_usage() TO application_user, pbl_reporting;
