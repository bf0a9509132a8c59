-- pbl stats: a per-tenant change counter ("epoch") of applications, so a statistic cached in
-- Redis is checked against the database with one cheap read (docs/gdpr.md, "pbl stats").
-- Every committed change that can move a tenant's statistics (an insert, a change of
-- tenant_id, created_at, decision, risk_score or deleted_at, a delete of a live row, a
-- TRUNCATE) adds at least 1 to that tenant's epoch, whatever order transactions commit in. A
-- cached value read together with the epoch in one snapshot is exact while the epoch stays.
-- Writers add to one of 16 slots per tenant, once per transaction and tenant, skipping slots
-- that other transactions hold, so concurrent writers of one tenant do not wait on each other.
CREATE TABLE application_stats_epochs (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slot integer NOT NULL,
    epoch bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot),
    CONSTRAINT application_stats_epochs_slot_range CHECK (slot BETWEEN 0 AND 15),
    CONSTRAINT application_stats_epochs_epoch_nonnegative CHECK (epoch >= 0)
);

ALTER TABLE application_stats_epochs OWNER TO pbl_owner;

-- TRUNCATE applications empties every tenant at once: it bumps this one row, which every
-- tenant's epoch includes.
CREATE TABLE application_stats_truncations (
    id boolean PRIMARY KEY DEFAULT TRUE,
    epoch bigint NOT NULL DEFAULT 0,
    CONSTRAINT application_stats_truncations_one_row CHECK (id),
    CONSTRAINT application_stats_truncations_epoch_nonnegative CHECK (epoch >= 0)
);

INSERT INTO application_stats_truncations DEFAULT VALUES;

ALTER TABLE application_stats_truncations OWNER TO pbl_owner;

-- Adds 1 to one of the tenant's slots, once per transaction: pbl.stats_epoch_bumped remembers
-- the last tenant bumped until the transaction (or the savepoint that set it) ends. The slot
-- is the first one, from the backend's own, that no other transaction holds (SKIP LOCKED); only
-- with all 16 held does it wait for its own. A tenant's first change makes its 16 slots.
CREATE FUNCTION pbl_application_stats_bump(p_tenant_id uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    preferred constant integer := pg_backend_pid() % 16;
    free integer;
BEGIN
    IF p_tenant_id IS NULL
       OR current_setting('pbl.stats_epoch_bumped', true) IS NOT DISTINCT FROM p_tenant_id::text THEN
        RETURN;
    END IF;
    FOR attempt IN 1..2 LOOP
        SELECT e.slot INTO free FROM public.application_stats_epochs AS e
        WHERE e.tenant_id = p_tenant_id
        ORDER BY (e.slot + 16 - preferred) % 16
        LIMIT 1
        FOR UPDATE SKIP LOCKED;
        EXIT WHEN FOUND;
        INSERT INTO public.application_stats_epochs (tenant_id, slot)
        SELECT p_tenant_id, s FROM generate_series(0, 15) AS s
        ON CONFLICT DO NOTHING;
    END LOOP;
    UPDATE public.application_stats_epochs SET epoch = epoch + 1
    WHERE tenant_id = p_tenant_id AND slot = coalesce(free, preferred);
    PERFORM set_config('pbl.stats_epoch_bumped', p_tenant_id::text, true);
END
$$;

-- INSERT (and COPY): once per statement, for each tenant among the new rows.
CREATE FUNCTION pbl_applications_stats_inserted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM public.pbl_application_stats_bump(t.tenant_id)
    FROM (SELECT DISTINCT tenant_id FROM pbl_inserted) AS t;
    RETURN NULL;
END
$$;

-- UPDATE and DELETE of single rows (the triggers' WHEN clauses pass only changes that matter),
-- TRUNCATE of the table.
CREATE FUNCTION pbl_applications_stats_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE public.application_stats_truncations SET epoch = epoch + 1;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM public.pbl_application_stats_bump(OLD.tenant_id);
    ELSE
        PERFORM public.pbl_application_stats_bump(OLD.tenant_id);
        PERFORM public.pbl_application_stats_bump(NEW.tenant_id);
    END IF;
    RETURN NULL;
END
$$;

-- The current tenant's epoch (NULL when no tenant is set): read it in the same statement (or
-- REPEATABLE READ transaction) as the statistics it vouches for.
CREATE FUNCTION pbl_application_stats_epoch() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN public.pbl_current_tenant_id() IS NOT NULL THEN
    (SELECT coalesce(sum(epoch), 0)::bigint FROM public.application_stats_epochs
     WHERE tenant_id = public.pbl_current_tenant_id())
    + (SELECT coalesce(sum(epoch), 0)::bigint FROM public.application_stats_truncations)
END
$$;

-- A statement-level trigger: a COPY of a million rows calls the function once, not per row.
CREATE TRIGGER applications_stats_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS pbl_inserted
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_applications_stats_inserted();

-- Row-level with a column list and WHEN: UPDATEs of other columns (key rotation rewriting
-- ciphertexts, status changes, reviews) never call the function.
CREATE TRIGGER applications_stats_update
    AFTER UPDATE OF tenant_id, created_at, decision, risk_score, deleted_at ON applications
    FOR EACH ROW
    WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.decision IS DISTINCT FROM NEW.decision
          OR OLD.risk_score IS DISTINCT FROM NEW.risk_score
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION pbl_applications_stats_changed();

-- Purging soft-deleted rows (retention) changes no statistic: only live rows count.
CREATE TRIGGER applications_stats_delete AFTER DELETE ON applications
    FOR EACH ROW
    WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION pbl_applications_stats_changed();

CREATE TRIGGER applications_stats_truncate AFTER TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_applications_stats_changed();

ALTER FUNCTION pbl_application_stats_bump(uuid) OWNER TO pbl_owner;

ALTER FUNCTION pbl_applications_stats_inserted() OWNER TO pbl_owner;

ALTER FUNCTION pbl_applications_stats_changed() OWNER TO pbl_owner;

ALTER FUNCTION pbl_application_stats_epoch() OWNER TO pbl_owner;

REVOKE ALL ON FUNCTION pbl_application_stats_bump(uuid) FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_applications_stats_inserted() FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_applications_stats_changed() FROM PUBLIC;

REVOKE ALL ON FUNCTION pbl_application_stats_epoch() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pbl_application_stats_epoch() TO application_user, pbl_reporting;
