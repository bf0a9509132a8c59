-- Tamper-evident audit trail (docs/audit.md). Every audit row carries verification_hash =
-- sha256 over a canonical encoding of its content columns, its position in its tenant's chain
-- (chain_seq) and the previous row's hash (chain_prev_hash), computed at insert. Seals record
-- Merkle roots over periods of row hashes in a hash-chained table; a ledger records the
-- sanctioned removals (purge, whole partitions) so that verification survives retention.

-- Chain position and link: content columns (the append-only guard protects them).
ALTER TABLE audit_logs
    ADD COLUMN chain_seq bigint,
    ADD COLUMN chain_prev_hash varchar(64);

-- One chain per tenant, made with the tenant's first audit row and never changed: its unique
-- tenant_id makes a concurrent second creator wait and then use the first one's chain (READ
-- COMMITTED) or fail with a serialization error (REPEATABLE READ, SERIALIZABLE).
CREATE TABLE audit_chains (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_chains_one_per_tenant UNIQUE (tenant_id)
);

ALTER TABLE audit_chains OWNER TO pbl_owner;

-- Each chain's head: the newest position and hash. Inserting a row updates its chain's head, so
-- writers of one tenant are serialized by this row's lock (held to commit) while other tenants
-- proceed; a rolled-back insert rolls the head back with it, leaving no gap. Deliberately
-- without a unique index or foreign key: a bulk insert updates one head once per row, and
-- either would re-examine earlier versions of that row (written by the same transaction) on
-- every update, which costs O(rows) per row. Only pbl_audit_chain_link() writes it.
CREATE TABLE audit_chain_heads (
    chain_id bigint NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0,
    -- the hash before last_hash: the chain_prev_hash of the newest row
    prev_hash varchar(64),
    last_hash varchar(64) NOT NULL DEFAULT repeat('0', 64),
    CONSTRAINT audit_chain_heads_seq_nonnegative CHECK (last_seq >= 0)
);

CREATE INDEX audit_chain_heads_chain ON audit_chain_heads (chain_id);

ALTER TABLE audit_chain_heads OWNER TO pbl_owner;

-- Rows removed by a sanctioned path: one row per purged row (pbl_purge_expired_audit_logs, with
-- the row's hashes, so the chain and the seals stay checkable through the gap), and per whole
-- partition one row per tenant and block (pbl_audit_note_partition_removal: counts, the range
-- of chain positions and a digest of them). Append-only.
CREATE TABLE audit_chain_removals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind varchar(10) NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    -- the removed rows' seal block (NULL: they were not sealed)
    block_number bigint,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    row_count bigint NOT NULL,
    -- sum of pbl_audit_chain_seq_tag(chain_seq) over the removed rows
    seq_digest numeric NOT NULL,
    -- purge: the removed row's verification_hash and chain_prev_hash
    leaf_hash varchar(64),
    prev_hash varchar(64),
    -- purge: the function; partition: the partition's name
    source text NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    removed_by text NOT NULL DEFAULT session_user,
    CONSTRAINT audit_chain_removals_kind_known CHECK (kind IN ('purge', 'partition')),
    CONSTRAINT audit_chain_removals_range CHECK (
        first_seq >= 1 AND last_seq >= first_seq
        AND row_count BETWEEN 1 AND last_seq - first_seq + 1),
    CONSTRAINT audit_chain_removals_purge_row CHECK (
        kind <> 'purge'
        OR (row_count = 1 AND first_seq = last_seq AND leaf_hash IS NOT NULL
            AND prev_hash IS NOT NULL))
);

CREATE INDEX audit_chain_removals_tenant ON audit_chain_removals (tenant_id, first_seq);

ALTER TABLE audit_chain_removals OWNER TO pbl_owner;

-- Seals: one block per tenant and closed period (more when rows of a sealed period arrive late),
-- numbered 1, 2, ... across tenants, each record hash-chained to the previous one.
-- Append-only; pbl audit seal writes them (docs/audit.md has the encodings).
CREATE TABLE audit_seals (
    block_number bigint PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    period varchar(5) NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    leaf_count bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    merkle_root varchar(64) NOT NULL,
    prev_seal_hash varchar(64) NOT NULL,
    seal_hash varchar(64) NOT NULL,
    sealed_at timestamptz NOT NULL,
    sealed_by text NOT NULL,
    CONSTRAINT audit_seals_block_positive CHECK (block_number >= 1),
    CONSTRAINT audit_seals_period_known CHECK (period IN ('hour', 'day', 'month')),
    CONSTRAINT audit_seals_period_range CHECK (period_end > period_start),
    CONSTRAINT audit_seals_leaves CHECK (
        leaf_count >= 1 AND first_seq >= 1 AND last_seq >= first_seq)
);

CREATE INDEX audit_seals_tenant ON audit_seals (tenant_id, period_start);

ALTER TABLE audit_seals OWNER TO pbl_owner;

-- The canonical encoding of an audit row's content (docs/audit.md, "Canonical encoding"):
-- a line 'pbl-audit-v1', then per column in this order 'name=' followed by '-' for NULL or
-- '<length in bytes>:<text>', and a newline. Text forms: uuid, integer, numeric, inet (with its
-- netmask, as text(inet) prints it), jsonb and boolean as PostgreSQL prints them; timestamptz as
-- YYYY-MM-DDTHH:MI:SS.ffffffZ in UTC. pbl_audit_chain_hash() appends chain_seq and
-- chain_prev_hash the same way. Lifecycle columns (status, verification_notes, verified_at,
-- verified_by, retention_until, updated_at, block_number, merkle_root, block_timestamp) and
-- verification_hash itself are not part of it. pbl audit verify rebuilds the same encoding
-- outside the database (src/pbl_db/queries/audit_chain_content.sql gives it the columns' text
-- forms, src/pbl_db/audit/encoding.py frames and hashes them): change them together.
CREATE FUNCTION pbl_audit_chain_content(
    p_id uuid, p_application_id uuid, p_tenant_id uuid, p_blockchain_tx_hash text,
    p_event_type text, p_event_category text, p_event_description text, p_decision text,
    p_risk_score integer, p_confidence numeric, p_user_id text, p_user_role text,
    p_ip_address inet, p_user_agent text, p_service_name text, p_service_version text,
    p_environment text, p_event_data jsonb, p_previous_state jsonb, p_new_state jsonb,
    p_metadata jsonb, p_compliance_requirement text, p_regulation text,
    p_audit_required boolean, p_signature text, p_signing_key_id text,
    p_event_timestamp timestamptz, p_created_at timestamptz, p_deleted_at timestamptz)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    event_ts text;
    created_ts text;
    deleted_ts text;
BEGIN
    event_ts := CASE WHEN NOT isfinite(p_event_timestamp) THEN p_event_timestamp::text
                     ELSE to_char(p_event_timestamp AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                          || CASE WHEN p_event_timestamp < '0001-01-01 00:00:00+00'
                                  THEN ' BC' ELSE '' END END;
    created_ts := CASE WHEN NOT isfinite(p_created_at) THEN p_created_at::text
                       ELSE to_char(p_created_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                            || CASE WHEN p_created_at < '0001-01-01 00:00:00+00'
                                    THEN ' BC' ELSE '' END END;
    deleted_ts := CASE WHEN NOT isfinite(p_deleted_at) THEN p_deleted_at::text
                       ELSE to_char(p_deleted_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                            || CASE WHEN p_deleted_at < '0001-01-01 00:00:00+00'
                                    THEN ' BC' ELSE '' END END;
    RETURN concat(
        'pbl-audit-v1', E'\n',
        'id=', coalesce(octet_length(p_id::text) || ':' || p_id::text, '-'), E'\n',
        'application_id=', coalesce(octet_length(p_application_id::text) || ':'
                                    || p_application_id::text, '-'), E'\n',
        'tenant_id=', coalesce(octet_length(p_tenant_id::text) || ':' || p_tenant_id::text, '-'),
        E'\n',
        'blockchain_tx_hash=', coalesce(octet_length(p_blockchain_tx_hash) || ':'
                                        || p_blockchain_tx_hash, '-'), E'\n',
        'event_type=', coalesce(octet_length(p_event_type) || ':' || p_event_type, '-'), E'\n',
        'event_category=', coalesce(octet_length(p_event_category) || ':' || p_event_category,
                                    '-'), E'\n',
        'event_description=', coalesce(octet_length(p_event_description) || ':'
                                       || p_event_description, '-'), E'\n',
        'decision=', coalesce(octet_length(p_decision) || ':' || p_decision, '-'), E'\n',
        'risk_score=', coalesce(octet_length(p_risk_score::text) || ':' || p_risk_score::text,
                                '-'), E'\n',
        'confidence=', coalesce(octet_length(p_confidence::text) || ':' || p_confidence::text,
                                '-'), E'\n',
        'user_id=', coalesce(octet_length(p_user_id) || ':' || p_user_id, '-'), E'\n',
        'user_role=', coalesce(octet_length(p_user_role) || ':' || p_user_role, '-'), E'\n',
        'ip_address=', coalesce(octet_length(p_ip_address::text) || ':' || p_ip_address::text,
                                '-'), E'\n',
        'user_agent=', coalesce(octet_length(p_user_agent) || ':' || p_user_agent, '-'), E'\n',
        'service_name=', coalesce(octet_length(p_service_name) || ':' || p_service_name, '-'),
        E'\n',
        'service_version=', coalesce(octet_length(p_service_version) || ':' || p_service_version,
                                     '-'), E'\n',
        'environment=', coalesce(octet_length(p_environment) || ':' || p_environment, '-'),
        E'\n',
        'event_data=', coalesce(octet_length(p_event_data::text) || ':' || p_event_data::text,
                                '-'), E'\n',
        'previous_state=', coalesce(octet_length(p_previous_state::text) || ':'
                                    || p_previous_state::text, '-'), E'\n',
        'new_state=', coalesce(octet_length(p_new_state::text) || ':' || p_new_state::text, '-'),
        E'\n',
        'metadata=', coalesce(octet_length(p_metadata::text) || ':' || p_metadata::text, '-'),
        E'\n',
        'compliance_requirement=', coalesce(octet_length(p_compliance_requirement) || ':'
                                            || p_compliance_requirement, '-'), E'\n',
        'regulation=', coalesce(octet_length(p_regulation) || ':' || p_regulation, '-'), E'\n',
        'audit_required=', coalesce(octet_length(p_audit_required::text) || ':'
                                    || p_audit_required::text, '-'), E'\n',
        'signature=', coalesce(octet_length(p_signature) || ':' || p_signature, '-'), E'\n',
        'signing_key_id=', coalesce(octet_length(p_signing_key_id) || ':' || p_signing_key_id,
                                    '-'), E'\n',
        'event_timestamp=', coalesce(octet_length(event_ts) || ':' || event_ts, '-'), E'\n',
        'created_at=', coalesce(octet_length(created_ts) || ':' || created_ts, '-'), E'\n',
        'deleted_at=', coalesce(octet_length(deleted_ts) || ':' || deleted_ts, '-'), E'\n');
END
$$;

-- verification_hash: lower-case hex sha256 of the content encoding followed by chain_seq and
-- chain_prev_hash (64 zeros for a tenant's first row), framed like the other columns.
-- Inlinable SQL (no SET clause: it runs inside the chain trigger's UPDATE for every insert),
-- so its calls name pg_catalog.
CREATE FUNCTION pbl_audit_chain_hash(p_content text, p_seq bigint, p_prev text)
    RETURNS varchar
    LANGUAGE sql STABLE
    AS $$
SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
    p_content
    || 'chain_seq=' || pg_catalog.octet_length(p_seq::text) || ':' || p_seq::text || E'\n'
    || 'chain_prev_hash=' || pg_catalog.octet_length(p_prev) || ':' || p_prev || E'\n',
    'UTF8')), 'hex')
$$;

-- The 56-bit tag of a chain position summed into seq_digest: the first 7 bytes of
-- sha256(chain_seq as 8-byte big-endian), as an integer. Inlinable like pbl_audit_chain_hash.
CREATE FUNCTION pbl_audit_chain_seq_tag(p_seq bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT ('x' || pg_catalog.encode(
    pg_catalog.substr(pg_catalog.sha256(pg_catalog.int8send(p_seq)), 1, 7), 'hex'))::bit(56)::bigint
$$;

-- A row that row-level security will refuse must not touch (and lock) another tenant's chain
-- head: refuse it here, as RLS would, before pbl_audit_chain_link() runs. Runs as the caller.
CREATE FUNCTION pbl_audit_chain_check_tenant() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF row_security_active('public.audit_logs')
       AND NEW.tenant_id IS DISTINCT FROM public.pbl_current_tenant_id() THEN
        RAISE EXCEPTION 'new row violates row-level security policy for table "audit_logs"'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

-- Links a new row into its tenant's chain: advances the tenant's head (creating it for the
-- first row) and sets chain_seq, chain_prev_hash and verification_hash, overwriting whatever
-- the insert supplied; the seal columns (block_number, merkle_root, block_timestamp) start
-- NULL whatever the insert supplied (only pbl audit seal sets them, once). The head row's ctid
-- is remembered for the rest of the transaction (pbl.audit_chain_head_<tenant>), so bulk
-- inserts find the head directly instead of walking its growing chain of row versions; a stale
-- or forged value simply matches no visible row.
-- It counts the positions it hands out in the statement (pbl.audit_chain_taken, see
-- pbl_audit_chain_statement_check()).
CREATE FUNCTION pbl_audit_chain_link() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    content text;
    chain bigint;
    cache_name text;
    cached text;
    head_tid tid;
    head_seq bigint;
    head_prev text;
    head_hash text;
BEGIN
    IF NEW.tenant_id IS NULL THEN
        RETURN NEW;  -- the NOT NULL constraint refuses it
    END IF;
    content := public.pbl_audit_chain_content(
        NEW.id, NEW.application_id, NEW.tenant_id, NEW.blockchain_tx_hash, NEW.event_type,
        NEW.event_category, NEW.event_description, NEW.decision, NEW.risk_score,
        NEW.confidence, NEW.user_id, NEW.user_role, NEW.ip_address, NEW.user_agent,
        NEW.service_name, NEW.service_version, NEW.environment, NEW.event_data,
        NEW.previous_state, NEW.new_state, NEW.metadata, NEW.compliance_requirement,
        NEW.regulation, NEW.audit_required, NEW.signature, NEW.signing_key_id,
        NEW.event_timestamp, NEW.created_at, NEW.deleted_at);
    cache_name := 'pbl.audit_chain_head_' || replace(NEW.tenant_id::text, '-', '');
    cached := current_setting(cache_name, true);
    IF cached ~ '^\(\d{1,10},\d{1,5}\)$' THEN
        UPDATE public.audit_chain_heads AS h
           SET last_seq = h.last_seq + 1,
               prev_hash = h.last_hash,
               last_hash = public.pbl_audit_chain_hash(content, h.last_seq + 1, h.last_hash)
          FROM public.audit_chains AS c
         WHERE h.ctid = cached::tid AND c.id = h.chain_id AND c.tenant_id = NEW.tenant_id
        RETURNING h.ctid, h.last_seq, h.prev_hash, h.last_hash
             INTO head_tid, head_seq, head_prev, head_hash;
    END IF;
    IF head_tid IS NULL THEN
        UPDATE public.audit_chain_heads AS h
           SET last_seq = h.last_seq + 1,
               prev_hash = h.last_hash,
               last_hash = public.pbl_audit_chain_hash(content, h.last_seq + 1, h.last_hash)
          FROM public.audit_chains AS c
         WHERE c.tenant_id = NEW.tenant_id AND h.chain_id = c.id
        RETURNING h.ctid, h.last_seq, h.prev_hash, h.last_hash
             INTO head_tid, head_seq, head_prev, head_hash;
    END IF;
    IF head_tid IS NULL THEN
        -- the tenant's first row: make its chain and head, once
        INSERT INTO public.audit_chains (tenant_id) VALUES (NEW.tenant_id)
            ON CONFLICT (tenant_id) DO NOTHING
            RETURNING id INTO chain;
        IF chain IS NOT NULL THEN
            INSERT INTO public.audit_chain_heads (chain_id) VALUES (chain);
        END IF;
        UPDATE public.audit_chain_heads AS h
           SET last_seq = h.last_seq + 1,
               prev_hash = h.last_hash,
               last_hash = public.pbl_audit_chain_hash(content, h.last_seq + 1, h.last_hash)
          FROM public.audit_chains AS c
         WHERE c.tenant_id = NEW.tenant_id AND h.chain_id = c.id
        RETURNING h.ctid, h.last_seq, h.prev_hash, h.last_hash
             INTO STRICT head_tid, head_seq, head_prev, head_hash;
    END IF;
    PERFORM set_config(cache_name, head_tid::text, true);
    PERFORM set_config('pbl.audit_chain_taken',
                       (coalesce(nullif(current_setting('pbl.audit_chain_taken', true), ''),
                                 '0')::bigint + 1)::text,
                       true);
    NEW.chain_seq := head_seq;
    NEW.chain_prev_hash := head_prev;
    NEW.verification_hash := head_hash;
    NEW.block_number := NULL;
    NEW.merkle_root := NULL;
    NEW.block_timestamp := NULL;
    RETURN NEW;
END
$$;

-- BEFORE INSERT ROW triggers run before INSERT ... ON CONFLICT looks for a conflict: a row
-- skipped by DO NOTHING (or turned into DO UPDATE of the existing row), or by a later BEFORE
-- trigger returning NULL, would have taken a chain position that no row holds, a hole that
-- verify cannot tell from a deleted row. So every INSERT and COPY counts the positions its rows
-- took (reset here, before its first row) and compares them, after its last row, with the rows
-- it inserted (its transition table): fewer rows than positions fails the statement, and with
-- it the positions. A plain duplicate still fails as before, with the primary key's error.
CREATE FUNCTION pbl_audit_chain_statement_start() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM set_config('pbl.audit_chain_taken', '0', true);
    RETURN NULL;
END
$$;

CREATE FUNCTION pbl_audit_chain_statement_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    taken bigint := coalesce(nullif(current_setting('pbl.audit_chain_taken', true), ''),
                             '0')::bigint;
    inserted bigint;
BEGIN
    IF taken > 0 THEN
        SELECT count(*) INTO inserted FROM pbl_chained_rows;
        IF inserted < taken THEN
            RAISE EXCEPTION 'audit_logs: % of the % rows given a chain position were not inserted',
                            taken - inserted, taken
                USING ERRCODE = 'unique_violation',
                      HINT = 'audit rows are chained before INSERT ... ON CONFLICT checks for a '
                             'conflict: insert each audit row once, without ON CONFLICT';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Rows deleted through the sanctioned purge path (pbl.audit_purge = 'on', set by
-- pbl_purge_expired_audit_logs) are recorded in the ledger with their hashes.
CREATE FUNCTION pbl_audit_chain_note_purge() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF current_setting('pbl.audit_purge', true) = 'on' AND OLD.chain_seq IS NOT NULL THEN
        INSERT INTO public.audit_chain_removals
            (kind, tenant_id, block_number, first_seq, last_seq, row_count, seq_digest,
             leaf_hash, prev_hash, source)
        VALUES ('purge', OLD.tenant_id,
                CASE WHEN OLD.block_number ~ '^[0-9]{1,18}$' THEN OLD.block_number::bigint END,
                OLD.chain_seq, OLD.chain_seq, 1, public.pbl_audit_chain_seq_tag(OLD.chain_seq),
                OLD.verification_hash, OLD.chain_prev_hash, 'pbl_purge_expired_audit_logs');
    END IF;
    RETURN NULL;
END
$$;

-- `pbl retention run` calls this in the transaction that drops or detaches a whole partition,
-- before it does. Records per tenant and seal block how many chained rows go, the range of
-- their chain positions and the sum of their tags: one read of the partition, a handful of
-- ledger rows (O(tenants x blocks), no per-row writes). Returns the number of rows noted;
-- a second call for the same partition in the same transaction notes nothing more. The ledger
-- vouches only for what retention may remove: a partition holding a row not yet past
-- retention_until, or a row under legal hold, is refused (legal_holds is locked in SHARE mode
-- until the transaction ends, so no hold can be placed between this check and the drop).
CREATE FUNCTION pbl_audit_note_partition_removal(p_partition regclass) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    noted bigint;
    kept boolean;
BEGIN
    IF p_partition IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_inherits
        WHERE inhrelid = p_partition AND inhparent = 'public.audit_logs'::regclass) THEN
        RAISE EXCEPTION '% is not a partition of audit_logs', p_partition
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- no row may come or go, and no hold be placed, between this count and the DROP / DETACH
    LOCK TABLE public.legal_holds IN SHARE MODE;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_partition);
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM %s'
        '               WHERE retention_until IS NULL OR retention_until >= now()'
        '                  OR application_id IN (SELECT h.application_id'
        '                                        FROM public.legal_holds AS h'
        '                                        WHERE h.released_at IS NULL))',
        p_partition)
        INTO kept;
    IF kept THEN
        RAISE EXCEPTION '% holds rows not yet past retention_until or under legal hold: '
                        'it may not be removed', p_partition
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'pbl retention run removes a partition once every row in it has expired';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.audit_chain_removals
                   WHERE kind = 'partition' AND source = p_partition::text
                     AND removed_at = now()) THEN
        EXECUTE format(
            'INSERT INTO public.audit_chain_removals'
            '    (kind, tenant_id, block_number, first_seq, last_seq, row_count, seq_digest,'
            '     source)'
            ' SELECT ''partition'', tenant_id, block, min(chain_seq), max(chain_seq), count(*),'
            '        sum(public.pbl_audit_chain_seq_tag(chain_seq)), %L'
            ' FROM (SELECT tenant_id, chain_seq,'
            '              CASE WHEN block_number ~ ''^[0-9]{1,18}$'''
            '                   THEN block_number::bigint END AS block'
            '       FROM %s WHERE chain_seq IS NOT NULL) AS r'
            ' GROUP BY tenant_id, block',
            p_partition::text, p_partition);
    END IF;
    SELECT coalesce(sum(row_count), 0) INTO noted FROM public.audit_chain_removals
    WHERE kind = 'partition' AND source = p_partition::text AND removed_at = now();
    RETURN noted;
END
$$;

-- Seals and the removal ledger are append-only (for every role; pbl audit verify detects what a
-- superuser with triggers disabled does to them).
CREATE FUNCTION pbl_audit_chain_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Updates may change lifecycle columns only (0007), now including the seal columns
-- block_number, merkle_root and block_timestamp, which are set once (NULL to a value) by
-- pbl audit seal and never changed after; deletes are refused except through
-- pbl_purge_expired_audit_logs(), and even then only for rows past retention_until and not
-- under legal hold (the purge ledger trigger records every delete made with the purge flag, so
-- the flag alone must not be enough to remove a held row as if by the sanctioned path).
CREATE OR REPLACE FUNCTION pbl_audit_logs_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lifecycle constant text[] := ARRAY['status', 'verification_notes', 'verified_at',
                                       'verified_by', 'retention_until', 'updated_at',
                                       'block_number', 'merkle_root', 'block_timestamp'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('pbl.audit_purge', true) = 'on' AND OLD.retention_until < now()
           AND (OLD.application_id IS NULL
                OR NOT public.pbl_application_on_hold(OLD.application_id)) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: row % cannot be deleted', OLD.id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'rows past retention_until and not under legal hold are removed by '
                         'pbl_purge_expired_audit_logs()';
    END IF;
    IF (to_jsonb(NEW) - lifecycle) IS DISTINCT FROM (to_jsonb(OLD) - lifecycle) THEN
        RAISE EXCEPTION 'audit_logs is append-only: only % may change',
                        array_to_string(lifecycle, ', ')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (OLD.block_number IS NOT NULL AND NEW.block_number IS DISTINCT FROM OLD.block_number)
       OR (OLD.merkle_root IS NOT NULL AND NEW.merkle_root IS DISTINCT FROM OLD.merkle_root)
       OR (OLD.block_timestamp IS NOT NULL
           AND NEW.block_timestamp IS DISTINCT FROM OLD.block_timestamp) THEN
        RAISE EXCEPTION 'audit_logs: row % is sealed in block %; its seal cannot change',
                        OLD.id, OLD.block_number
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.retention_until := greatest(NEW.retention_until,
                                    public.pbl_audit_retention_until(NEW.regulation::text, NEW.created_at));
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Chain the rows that exist already, per tenant in (created_at, event_timestamp, id) order,
-- with the same functions the insert trigger uses (the guard would refuse the update).
ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only;

DO $$
DECLARE
    r record;
    tenant uuid;
    seq bigint := 0;
    prev text;
    before_prev text;
    hash text;
    ids uuid[] := '{}';
    stamps timestamptz[] := '{}';
    seqs bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    FOR r IN SELECT * FROM public.audit_logs
             ORDER BY tenant_id, created_at, event_timestamp, id LOOP
        IF tenant IS DISTINCT FROM r.tenant_id THEN
            IF tenant IS NOT NULL THEN
                WITH c AS (INSERT INTO public.audit_chains (tenant_id) VALUES (tenant) RETURNING id)
                INSERT INTO public.audit_chain_heads (chain_id, last_seq, prev_hash, last_hash)
                SELECT c.id, seq, before_prev, prev FROM c;
            END IF;
            tenant := r.tenant_id;
            seq := 0;
            prev := repeat('0', 64);
        END IF;
        seq := seq + 1;
        hash := public.pbl_audit_chain_hash(public.pbl_audit_chain_content(
            r.id, r.application_id, r.tenant_id, r.blockchain_tx_hash, r.event_type,
            r.event_category, r.event_description, r.decision, r.risk_score, r.confidence,
            r.user_id, r.user_role, r.ip_address, r.user_agent, r.service_name,
            r.service_version, r.environment, r.event_data, r.previous_state, r.new_state,
            r.metadata, r.compliance_requirement, r.regulation, r.audit_required, r.signature,
            r.signing_key_id, r.event_timestamp, r.created_at, r.deleted_at), seq, prev);
        ids := ids || r.id;
        stamps := stamps || r.event_timestamp;
        seqs := seqs || seq;
        prevs := prevs || prev;
        hashes := hashes || hash;
        before_prev := prev;
        prev := hash;
        IF cardinality(ids) >= 10000 THEN
            UPDATE public.audit_logs AS a
               SET chain_seq = c.seq, chain_prev_hash = c.prev, verification_hash = c.hash
              FROM unnest(ids, stamps, seqs, prevs, hashes) AS c (id, stamp, seq, prev, hash)
             WHERE a.id = c.id AND a.event_timestamp = c.stamp;
            ids := '{}';
            stamps := '{}';
            seqs := '{}';
            prevs := '{}';
            hashes := '{}';
        END IF;
    END LOOP;
    IF tenant IS NOT NULL THEN
        WITH c AS (INSERT INTO public.audit_chains (tenant_id) VALUES (tenant) RETURNING id)
        INSERT INTO public.audit_chain_heads (chain_id, last_seq, prev_hash, last_hash)
        SELECT c.id, seq, before_prev, prev FROM c;
    END IF;
    UPDATE public.audit_logs AS a
       SET chain_seq = c.seq, chain_prev_hash = c.prev, verification_hash = c.hash
      FROM unnest(ids, stamps, seqs, prevs, hashes) AS c (id, stamp, seq, prev, hash)
     WHERE a.id = c.id AND a.event_timestamp = c.stamp;
END
$$;

ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only;

-- A tenant's chain in order, for pbl audit verify (a merge of the partitions' index scans
-- instead of a sort of the whole chain).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_audit_logs_chain ON audit_logs (tenant_id, chain_seq);

-- Rows not sealed yet, for pbl audit seal (sealed rows leave this index).
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX idx_audit_logs_unsealed ON audit_logs (tenant_id, event_timestamp)
    WHERE block_number IS NULL;

-- BEFORE INSERT row triggers fire in name order: these two come after every other one
-- (audit_logs_retention_floor, ...), so the content they hash is final.
CREATE TRIGGER audit_logs_zz_chain_check BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_chain_check_tenant();

CREATE TRIGGER audit_logs_zz_chain_link BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_chain_link();

CREATE TRIGGER audit_logs_chain_statement_start BEFORE INSERT ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_audit_chain_statement_start();

CREATE TRIGGER audit_logs_chain_statement_check AFTER INSERT ON audit_logs
    REFERENCING NEW TABLE AS pbl_chained_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_audit_chain_statement_check();

CREATE TRIGGER audit_logs_chain_purged AFTER DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_chain_note_purge();

CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_chain_append_only();

CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_audit_chain_append_only();

CREATE TRIGGER audit_chain_removals_append_only BEFORE UPDATE OR DELETE ON audit_chain_removals
    FOR EACH ROW EXECUTE FUNCTION pbl_audit_chain_append_only();

CREATE TRIGGER audit_chain_removals_no_truncate BEFORE TRUNCATE ON audit_chain_removals
    FOR EACH STATEMENT EXECUTE FUNCTION pbl_audit_chain_append_only();

ALTER FUNCTION pbl_audit_chain_content(uuid, uuid, uuid, text, text, text, text, text, integer,
                                       numeric, text, text, inet, text, text, text, text, jsonb,
                                       jsonb, jsonb, jsonb, text, text, boolean, text, text,
                                       timestamptz, timestamptz, timestamptz) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_hash(text, bigint, text) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_seq_tag(bigint) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_check_tenant() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_link() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_statement_start() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_statement_check() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_note_purge() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_note_partition_removal(regclass) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_chain_append_only() OWNER TO pbl_owner;

REVOKE EXECUTE ON FUNCTION pbl_audit_chain_link() FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_audit_chain_note_purge() FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_audit_note_partition_removal(regclass) FROM PUBLIC;
