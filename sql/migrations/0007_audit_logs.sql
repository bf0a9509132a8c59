-- audit_logs: the immutable audit trail (spec: Core Tables / audit_logs, Partitioning Strategy,
-- Data Retention). Partitioned by UTC month on event_timestamp; content is append-only.

-- Retention per regulation, in one place (pbl retention reads it too). DEFAULT applies to rows
-- whose regulation has no row here.
CREATE TABLE audit_retention_policies (
    regulation varchar(50) PRIMARY KEY,
    retention interval NOT NULL,
    description text NOT NULL,
    CONSTRAINT audit_retention_policies_positive CHECK (retention > interval '0'),
    CONSTRAINT audit_retention_policies_upper CHECK (regulation = upper(regulation))
);

INSERT INTO audit_retention_policies (regulation, retention, description) VALUES
    ('GDPR', interval '7 years', 'spec: Data Retention, GDPR rows kept 7 years from created_at'),
    ('FCRA', interval '10 years', 'spec: Data Retention, FCRA rows kept 10 years from created_at'),
    ('DEFAULT', interval '7 years', 'any other or no regulation: the spec''s 7-year audit horizon');

ALTER TABLE audit_retention_policies OWNER TO pbl_owner;

CREATE TABLE audit_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    application_id uuid,
    tenant_id uuid NOT NULL REFERENCES tenants (id),

    -- Blockchain information
    blockchain_tx_hash varchar(255),
    block_number varchar(50),
    merkle_root varchar(255),
    block_timestamp timestamptz,

    -- Event information
    event_type varchar(100) NOT NULL,
    event_category varchar(50) NOT NULL,
    event_description text,

    -- Decision information
    decision varchar(20),
    risk_score integer,
    confidence numeric(5, 2),

    -- User information
    user_id varchar(255),
    user_role varchar(50),
    ip_address inet,
    user_agent text,

    -- System information
    service_name varchar(100) NOT NULL,
    service_version varchar(50),
    environment varchar(20),

    -- Event data
    event_data jsonb,
    previous_state jsonb,
    new_state jsonb,
    metadata jsonb,

    -- Compliance information
    compliance_requirement varchar(100),
    regulation varchar(50),
    audit_required boolean NOT NULL DEFAULT TRUE,
    retention_until timestamptz,

    -- Verification information
    verification_hash varchar(255),
    signature text,
    signing_key_id varchar(100),

    -- Status
    status varchar(20) NOT NULL DEFAULT 'pending',
    verification_notes text,
    verified_at timestamptz,
    verified_by varchar(255),

    -- Timestamps
    event_timestamp timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    -- a partitioned table's primary key must contain the partition key
    PRIMARY KEY (id, event_timestamp),
    -- foreign-key checks ignore row-level security: carrying tenant_id keeps tenants apart
    CONSTRAINT audit_logs_application_fkey FOREIGN KEY (application_id, tenant_id)
        REFERENCES applications (id, tenant_id) ON DELETE RESTRICT,
    CONSTRAINT audit_logs_status_known
        CHECK (status IN ('pending', 'verified', 'failed', 'archived')),
    CONSTRAINT audit_logs_risk_score_range CHECK (risk_score BETWEEN 0 AND 1000),
    CONSTRAINT audit_logs_confidence_range CHECK (confidence BETWEEN 0 AND 100)
) PARTITION BY RANGE (event_timestamp);

CREATE INDEX idx_audit_logs_application_id ON audit_logs (application_id, event_timestamp DESC);

CREATE INDEX idx_audit_logs_tenant_id ON audit_logs (tenant_id, event_timestamp DESC);

CREATE INDEX idx_audit_logs_event_type ON audit_logs (tenant_id, event_type, event_timestamp DESC);

CREATE INDEX idx_audit_logs_event_timestamp ON audit_logs (event_timestamp);

CREATE INDEX idx_audit_logs_blockchain_tx_hash ON audit_logs (blockchain_tx_hash)
    WHERE blockchain_tx_hash IS NOT NULL;

ALTER TABLE audit_logs OWNER TO pbl_owner;

-- Rows outside every monthly partition land here instead of failing the insert.
CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;

ALTER TABLE audit_logs_default OWNER TO pbl_owner;

-- The earliest retention_until the policy allows for a row.
CREATE FUNCTION pbl_audit_retention_until(p_regulation text, p_created_at timestamptz)
    RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT p_created_at + coalesce(
    (SELECT retention FROM public.audit_retention_policies WHERE regulation = upper(p_regulation)),
    (SELECT retention FROM public.audit_retention_policies WHERE regulation = 'DEFAULT'))
$$;

-- Monthly partitions audit_logs_yYYYYmMM on UTC month bounds for every month from p_first's to
-- p_last's; returns the names it created. Runs as pbl_owner.
CREATE FUNCTION pbl_ensure_audit_partitions_between(p_first date, p_last date)
    RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    month_start date := date_trunc('month', p_first)::date;
    partition_name text;
BEGIN
    IF p_first IS NULL OR p_last IS NULL OR p_last < p_first
       OR p_last - p_first > 366 * 50 THEN
        RAISE EXCEPTION 'partition range % to % is not a range of at most 50 years', p_first, p_last;
    END IF;
    WHILE month_start <= p_last LOOP
        partition_name := format('audit_logs_y%sm%s', to_char(month_start, 'YYYY'),
                                 to_char(month_start, 'MM'));
        IF to_regclass(format('public.%I', partition_name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE public.%I PARTITION OF public.audit_logs FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                month_start::text || ' 00:00:00+00',
                (month_start + interval '1 month')::date::text || ' 00:00:00+00');
            RETURN NEXT partition_name;
        END IF;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
END
$$;

-- The same, from p_months_back months before the current UTC month to p_months_ahead after.
CREATE FUNCTION pbl_ensure_audit_partitions(p_months_back integer DEFAULT 1,
                                            p_months_ahead integer DEFAULT 3)
    RETURNS SETOF text
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT public.pbl_ensure_audit_partitions_between(
    (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => p_months_back))::date,
    (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead))::date)
$$;

-- Inserts: retention_until is at least what the row's regulation requires.
CREATE FUNCTION pbl_audit_logs_before_insert() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    NEW.retention_until := greatest(NEW.retention_until,
                                    public.pbl_audit_retention_until(NEW.regulation::text, NEW.created_at));
    RETURN NEW;
END
$$;

-- Updates may change lifecycle columns only; deletes are refused except through
-- pbl_purge_expired_audit_logs(), and even then only for rows past retention_until.
CREATE FUNCTION pbl_audit_logs_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lifecycle constant text[] := ARRAY['status', 'verification_notes', 'verified_at',
                                       'verified_by', 'retention_until', 'updated_at'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('pbl.audit_purge', true) = 'on' AND OLD.retention_until < now() THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: row % cannot be deleted', OLD.id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'rows past retention_until are removed by pbl_purge_expired_audit_logs()';
    END IF;
    IF (to_jsonb(NEW) - lifecycle) IS DISTINCT FROM (to_jsonb(OLD) - lifecycle) THEN
        RAISE EXCEPTION 'audit_logs is append-only: only % may change',
                        array_to_string(lifecycle, ', ')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.retention_until := greatest(NEW.retention_until,
                                    public.pbl_audit_retention_until(NEW.regulation::text, NEW.created_at));
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- The one sanctioned deletion path: up to p_batch_size rows whose retention_until has passed.
CREATE FUNCTION pbl_purge_expired_audit_logs(p_batch_size integer DEFAULT 10000)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    purged bigint;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'batch size must be positive, not %', p_batch_size;
    END IF;
    PERFORM set_config('pbl.audit_purge', 'on', true);
    DELETE FROM public.audit_logs AS a
    USING (SELECT id, event_timestamp FROM public.audit_logs
           WHERE retention_until < now()
           LIMIT p_batch_size) AS doomed
    WHERE a.id = doomed.id AND a.event_timestamp = doomed.event_timestamp;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('pbl.audit_purge', 'off', true);
    RETURN purged;
END
$$;

-- TRUNCATE skips row triggers: refuse it on the whole table (dropping or detaching a partition
-- is the owner's DDL-level way to remove a month).
CREATE FUNCTION pbl_audit_logs_no_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: TRUNCATE is refused'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'expired rows are removed by pbl_purge_expired_audit_logs()';
END
$$;

CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_audit_logs_no_truncate();

CREATE TRIGGER audit_logs_retention_floor BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_logs_before_insert();

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_logs_guard();

ALTER FUNCTION pbl_audit_retention_until(text, timestamptz) OWNER TO pbl_owner;

ALTER FUNCTION pbl_ensure_audit_partitions_between(date, date) OWNER TO pbl_owner;

ALTER FUNCTION pbl_ensure_audit_partitions(integer, integer) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_logs_before_insert() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_logs_guard() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_logs_no_truncate() OWNER TO pbl_owner;

ALTER FUNCTION pbl_purge_expired_audit_logs(integer) OWNER TO pbl_owner;

REVOKE EXECUTE ON FUNCTION pbl_ensure_audit_partitions_between(date, date) FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_ensure_audit_partitions(integer, integer) FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_purge_expired_audit_logs(integer) FROM PUBLIC;

-- partitions from last month to three months ahead, so inserts work from the first run
SELECT count(*) AS partitions_created FROM pbl_ensure_audit_partitions(1, 3);
