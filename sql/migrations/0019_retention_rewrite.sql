-- Retention by rewrite (pbl retention run): a past month of audit_logs in which most rows have
-- expired is rebuilt from the rows it keeps, instead of losing its expired rows one DELETE at a
-- time. Deleting writes a full-page image of every page it touches and leaves the pages for
-- VACUUM; copying the few rows that stay into a fresh table writes only those rows. The removed
-- rows go into the removal ledger compactly: one 'rewrite' row per tenant and seal block with
-- every removed row's chain position and hashes packed in `leaves`, so pbl audit verify checks
-- the chain and the seals through the gap exactly as it does for rows the purge path deletes.

ALTER TABLE audit_chain_removals ADD COLUMN leaves bytea;

-- stored uncompressed: hashes do not compress, and the view below reads slices, which
-- PostgreSQL fetches without the whole value only from uncompressed storage
ALTER TABLE audit_chain_removals ALTER COLUMN leaves SET STORAGE EXTERNAL;

-- replaced by a wider one (one more kind)
-- squawk-ignore ban-drop-constraint
ALTER TABLE audit_chain_removals DROP CONSTRAINT audit_chain_removals_kind_known;

-- NOT VALID and left so: every existing row satisfies both checks (kind 'purge' or 'partition',
-- leaves NULL), and validating would scan the ledger under a lock that blocks its readers;
-- new and changed rows are checked all the same
ALTER TABLE audit_chain_removals ADD CONSTRAINT audit_chain_removals_kind_known
    CHECK (kind IN ('purge', 'partition', 'rewrite')) NOT VALID;

-- rewrite: per removed row, in chain order, 72 bytes: chain_seq (8, big-endian),
-- verification_hash (32), chain_prev_hash (32)
ALTER TABLE audit_chain_removals ADD CONSTRAINT audit_chain_removals_rewrite_leaves
    CHECK ((kind = 'rewrite') = (leaves IS NOT NULL)
           AND (leaves IS NULL OR octet_length(leaves) = 72 * row_count)) NOT VALID;

-- Every row removed one by one, with its hashes: the purge path's rows and the rewrite path's
-- unpacked; range_first and range_last are the ledger row's, for filtering before unpacking.
-- What verify and proof read.
CREATE VIEW audit_chain_removed_leaves AS
SELECT tenant_id, first_seq AS chain_seq, leaf_hash, prev_hash, block_number, kind, source,
       first_seq AS range_first, last_seq AS range_last
FROM audit_chain_removals
WHERE kind = 'purge'
UNION ALL
SELECT r.tenant_id,
       ('x' || encode(substr(r.leaves, 72 * i + 1, 8), 'hex'))::bit(64)::bigint,
       encode(substr(r.leaves, 72 * i + 9, 32), 'hex')::varchar(64),
       encode(substr(r.leaves, 72 * i + 41, 32), 'hex')::varchar(64),
       r.block_number, r.kind, r.source, r.first_seq, r.last_seq
FROM audit_chain_removals AS r
CROSS JOIN LATERAL generate_series(0, r.row_count::integer - 1) AS i
WHERE r.kind = 'rewrite';

ALTER VIEW audit_chain_removed_leaves OWNER TO pbl_owner;

-- Retention's rule for a row, as SQL over the row's columns: past retention_until and not under
-- an active legal hold (a NULL retention_until is kept; a NULL application_id is not held). The
-- purge path's rule; the rewrite and the partition ledger function below apply it as SQL.
CREATE FUNCTION pbl_audit_retention_goes() RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
SELECT 'retention_until < now() AND (application_id IS NULL OR application_id NOT IN ('
       'SELECT h.application_id FROM public.legal_holds AS h WHERE h.released_at IS NULL))'
$$;

-- What both halves of a rewrite check first: READ COMMITTED (each statement then sees what
-- committed before it, so the locks taken first protect what is read after them; under
-- REPEATABLE READ a row committed while a lock was awaited would stay invisible, and be lost),
-- and a monthly partition of audit_logs whose month is over. Returns the partition's bound.
CREATE FUNCTION pbl_audit_rewrite_check(p_partition regclass) RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bound text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'a retention rewrite runs under READ COMMITTED, not %',
                        current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state';
    END IF;
    SELECT pg_get_expr(c.relpartbound, c.oid) INTO bound
    FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhrelid = p_partition AND i.inhparent = 'public.audit_logs'::regclass;
    IF p_partition IS NULL OR bound IS NULL
       OR bound !~ '^FOR VALUES FROM \(''[^'']+''\) TO \(''[^'']+''\)$' THEN
        RAISE EXCEPTION '% is not a monthly partition of audit_logs', p_partition
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (regexp_match(bound, $re$TO \('([^']+)'\)$re$))[1]::timestamptz > now() THEN
        RAISE EXCEPTION '% is the current or a future month: it is not rewritten', p_partition
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN bound;
END
$$;

-- The first half of a rewrite, in the caller's transaction. Locks the partition in SHARE mode
-- until the transaction ends (readers go on; writers of that month, rare for a past month,
-- wait), creates p_new_table (LIKE audit_logs, owned by pbl_owner, in the partition's
-- tablespace with its storage parameters), copies into it every row the partition keeps, as it
-- is (no trigger fires), then builds audit_logs' primary key and indexes on it (a build writes
-- each index once, packed; inserting row by row would write a record per entry plus page
-- splits, three times the WAL) and the partition's own extra indexes, and adds a CHECK matching
-- the month's bounds, so that the swap's ATTACH need not scan while audit_logs is locked (the
-- caller then adds the foreign keys: pbl_audit_rewrite_partition_keys). Legal holds are not
-- locked here: the swap checks them again. Returns the rows kept, the rows to go and these per
-- retention policy.
CREATE FUNCTION pbl_audit_rewrite_partition_prepare(p_partition regclass, p_new_table text)
    RETURNS TABLE (kept bigint, removed bigint, by_regulation jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bound text;
    cols text;
    ddl text;
    on_table text;
    made text;
    placement text;
    goes constant text := public.pbl_audit_retention_goes();
BEGIN
    bound := public.pbl_audit_rewrite_check(p_partition);
    IF p_new_table IS NULL OR p_new_table !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'table name % is not a plain lower-case name', p_new_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_partition);
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = 'public.audit_logs'::regclass AND attnum > 0 AND NOT attisdropped;
    SELECT coalesce(' WITH (' || array_to_string(c.reloptions, ', ') || ')', '')
           || CASE WHEN c.reltablespace <> 0
                   THEN ' TABLESPACE ' || quote_ident(t.spcname) ELSE '' END
      INTO placement
    FROM pg_class AS c LEFT JOIN pg_tablespace AS t ON t.oid = c.reltablespace
    WHERE c.oid = p_partition;
    EXECUTE format(
        'CREATE TABLE public.%I (LIKE public.audit_logs INCLUDING ALL EXCLUDING INDEXES)%s',
        p_new_table, placement);
    EXECUTE format('INSERT INTO public.%I (%s) SELECT %s FROM %s WHERE (%s) IS NOT TRUE',
                   p_new_table, cols, cols, p_partition, goes);
    GET DIAGNOSTICS kept = ROW_COUNT;
    FOR ddl IN
        SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'public.audit_logs'::regclass AND contype IN ('p', 'u')
    LOOP
        EXECUTE format('ALTER TABLE public.%I ADD %s', p_new_table, ddl);
    END LOOP;
    -- audit_logs' other indexes, then the partition's own (a DBA's), each definition pointed
    -- at the new table (and named after it)
    FOR ddl, on_table IN
        SELECT pg_get_indexdef(x.indexrelid), 'ONLY public\.audit_logs' FROM pg_index AS x
        WHERE x.indrelid = 'public.audit_logs'::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)
        UNION ALL
        SELECT pg_get_indexdef(x.indexrelid), '\S+' FROM pg_index AS x
        WHERE x.indrelid = p_partition
          AND NOT EXISTS (SELECT 1 FROM pg_inherits AS i WHERE i.inhrelid = x.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)
    LOOP
        made := regexp_replace(ddl, '^(CREATE (UNIQUE )?INDEX) \S+ ON ' || on_table || ' ',
                               '\1 ON public.' || quote_ident(p_new_table) || ' ');
        IF made = ddl THEN
            RAISE EXCEPTION 'unexpected index definition: %', ddl;
        END IF;
        EXECUTE made;
    END LOOP;
    EXECUTE format(
        'ALTER TABLE public.%I ADD CONSTRAINT pbl_rewrite_bounds CHECK ('
        'event_timestamp IS NOT NULL AND event_timestamp >= %L AND event_timestamp < %L)',
        p_new_table, (regexp_match(bound, $re$FROM \('([^']+)'\)$re$))[1],
        (regexp_match(bound, $re$TO \('([^']+)'\)$re$))[1]);
    EXECUTE format(
        'SELECT coalesce(sum(n), 0), coalesce(jsonb_object_agg(policy, n), ''{}''::jsonb)'
        ' FROM (SELECT coalesce(p.regulation, ''DEFAULT'') AS policy, count(*) AS n'
        '       FROM %s AS a'
        '       LEFT JOIN public.audit_retention_policies AS p'
        '              ON p.regulation = upper(a.regulation)'
        '       WHERE %s GROUP BY 1) AS per_policy',
        p_partition, goes)
        INTO removed, by_regulation;
    RETURN NEXT;
END
$$;

-- Between the two halves: audit_logs' foreign keys on the prepared table, added NOT VALID and
-- validated now, under no lock that writers wait for, so that ATTACH adopts them instead of
-- validating while audit_logs is locked. Runs as the caller, not as pbl_owner: validation must
-- see every referenced row, which forced row-level security shows only to a role with
-- BYPASSRLS (pbl retention run requires one).
CREATE FUNCTION pbl_audit_rewrite_partition_keys(p_new_table text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    new_rel regclass := to_regclass(format('public.%I', p_new_table));
    ddl text;
BEGIN
    IF new_rel IS NULL OR NOT EXISTS (SELECT 1 FROM pg_constraint
                                      WHERE conrelid = new_rel
                                        AND conname = 'pbl_rewrite_bounds') THEN
        RAISE EXCEPTION '% was not made by pbl_audit_rewrite_partition_prepare()', p_new_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR ddl IN
        SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', new_rel, conname,
                      pg_get_constraintdef(oid))
        FROM pg_constraint WHERE conrelid = 'public.audit_logs'::regclass AND contype = 'f'
    LOOP
        EXECUTE ddl;
    END LOOP;
    FOR ddl IN
        SELECT format('ALTER TABLE %s VALIDATE CONSTRAINT %I', new_rel, conname)
        FROM pg_constraint WHERE conrelid = 'public.audit_logs'::regclass AND contype = 'f'
    LOOP
        EXECUTE ddl;
    END LOOP;
END
$$;

-- The second half, in the same transaction after the first. Locks legal_holds in SHARE mode (no
-- hold placed or released until the transaction ends) and checks that the partition still
-- keeps exactly the p_kept rows the new table holds: a hold placed since the copy refuses the
-- swap (the purge path then keeps its rows). Notes the rows that go in the removal ledger: one
-- 'rewrite' row per tenant, seal block and 65,536 positions. Then takes, in this order and each
-- exclusively, applications and tenants (ATTACH moves the foreign keys' triggers off them), the
-- partition, the default partition, and audit_logs (by the DROP); drops the old partition,
-- renames the new table, ATTACHes it (it adopts the indexes and foreign keys; the CHECK spares
-- it the bounds scan), drops the CHECK and gives the indexes the old ones' names. Refuses
-- (55000) when rows or holds changed, and (XX001) when a row that goes has malformed or repeated
-- chain values (tampered with: see pbl audit verify; the purge path can still remove it).
-- Returns the rows removed. Each lock waits at most lock_timeout; the caller retries this half
-- alone (in a savepoint) without redoing the copy.
CREATE FUNCTION pbl_audit_rewrite_partition_swap(p_partition regclass, p_new_table text,
                                                 p_kept bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    bound text;
    old_name text;
    new_rel regclass;
    default_rel regclass;
    kept_now bigint;
    new_rows bigint;
    bad bigint;
    gone bigint;
    names record;
    old_names jsonb;
    goes constant text := public.pbl_audit_retention_goes();
BEGIN
    bound := public.pbl_audit_rewrite_check(p_partition);
    new_rel := to_regclass(format('public.%I', p_new_table));
    IF new_rel IS NULL OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = new_rel)
       OR NOT EXISTS (SELECT 1 FROM pg_constraint
                      WHERE conrelid = new_rel AND conname = 'pbl_rewrite_bounds') THEN
        RAISE EXCEPTION '% was not made by pbl_audit_rewrite_partition_prepare()', p_new_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT relname INTO old_name FROM pg_class WHERE oid = p_partition;
    LOCK TABLE public.legal_holds IN SHARE MODE;
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_partition);
    -- one scan: the rows kept and going now, and going rows with malformed or repeated chain
    -- values (which the ledger cannot record)
    EXECUTE format(
        'SELECT count(*) FILTER (WHERE NOT goes), count(*) FILTER (WHERE goes),'
        '       count(*) FILTER (WHERE goes AND chain_seq IS NOT NULL'
        '                          AND (verification_hash IS NULL OR chain_prev_hash IS NULL'
        '                               OR verification_hash !~ ''^[0-9a-f]{64}$'''
        '                               OR chain_prev_hash !~ ''^[0-9a-f]{64}$'''
        '                               OR chain_seq < 1))'
        '       + count(chain_seq) FILTER (WHERE goes)'
        '       - count(DISTINCT (tenant_id, chain_seq)) FILTER (WHERE goes AND chain_seq IS NOT NULL)'
        ' FROM (SELECT *, coalesce((%s), false) AS goes FROM %s) AS a',
        goes, p_partition)
        INTO kept_now, gone, bad;
    EXECUTE format('SELECT count(*) FROM %s', new_rel) INTO new_rows;
    IF kept_now <> p_kept OR new_rows <> p_kept THEN
        RAISE EXCEPTION '% changed since its copy (it keeps % rows now, % were copied)',
                        p_partition, kept_now, new_rows
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF bad > 0 THEN
        RAISE EXCEPTION '% has expired rows with malformed or repeated chain values', p_partition
            USING ERRCODE = 'data_corrupted',
                  HINT = 'run pbl audit verify; the purge path can still remove them';
    END IF;
    EXECUTE format(
        'INSERT INTO public.audit_chain_removals'
        '    (kind, tenant_id, block_number, first_seq, last_seq, row_count, seq_digest, leaves,'
        '     source)'
        ' SELECT ''rewrite'', tenant_id, block, min(chain_seq), max(chain_seq), count(*),'
        '        sum(public.pbl_audit_chain_seq_tag(chain_seq)),'
        '        string_agg(int8send(chain_seq) || decode(verification_hash, ''hex'')'
        '                   || decode(chain_prev_hash, ''hex''), ''''::bytea ORDER BY chain_seq),'
        '        %L'
        ' FROM (SELECT tenant_id, chain_seq, verification_hash, chain_prev_hash,'
        '              CASE WHEN block_number ~ ''^[0-9]{1,18}$'''
        '                   THEN block_number::bigint END AS block'
        '       FROM %s WHERE (%s) AND chain_seq IS NOT NULL) AS r'
        ' GROUP BY tenant_id, block, chain_seq / 65536',
        p_partition::text, p_partition, goes);
    -- the swap: every lock it needs, audit_logs' last
    LOCK TABLE public.applications, public.tenants IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p_partition);
    SELECT i.inhrelid::regclass INTO default_rel
    FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'public.audit_logs'::regclass
      AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF default_rel IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', default_rel);
    END IF;
    -- the old indexes' names, by the audit_logs index each belongs to
    SELECT jsonb_object_agg(p.inhparent::text, c.relname) INTO old_names
    FROM pg_index AS x
    JOIN pg_class AS c ON c.oid = x.indexrelid
    JOIN pg_inherits AS p ON p.inhrelid = x.indexrelid
    WHERE x.indrelid = p_partition;
    EXECUTE format('DROP TABLE %s', p_partition);
    EXECUTE format('ALTER TABLE %s RENAME TO %I', new_rel, old_name);
    EXECUTE format('ALTER TABLE public.audit_logs ATTACH PARTITION %s %s', new_rel, bound);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT pbl_rewrite_bounds', new_rel);
    FOR names IN
        SELECT c.relname AS current_name, old_names ->> p.inhparent::text AS wanted
        FROM pg_index AS x
        JOIN pg_class AS c ON c.oid = x.indexrelid
        JOIN pg_inherits AS p ON p.inhrelid = x.indexrelid
        WHERE x.indrelid = new_rel
    LOOP
        IF names.wanted IS NOT NULL AND names.wanted <> names.current_name THEN
            EXECUTE format('ALTER INDEX public.%I RENAME TO %I', names.current_name, names.wanted);
        END IF;
    END LOOP;
    RETURN gone;
END
$$;

-- 0017's ledger function for whole-partition removals, reading the partition once instead of
-- twice: the check that every row is past retention_until and none under hold, and the ledger
-- rows per tenant and block, come from one aggregate. Same contract (0017's comment): returns
-- the rows noted, refuses a partition retention may not remove, a second call in the same
-- transaction notes nothing more.
CREATE OR REPLACE FUNCTION pbl_audit_note_partition_removal(p_partition regclass) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    noted bigint;
    kept boolean;
    goes constant text := public.pbl_audit_retention_goes();
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
    IF EXISTS (SELECT 1 FROM public.audit_chain_removals
               WHERE kind = 'partition' AND source = p_partition::text
                 AND removed_at = now()) THEN
        -- noted earlier in this transaction: check again, note nothing more
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE (%s) IS NOT TRUE)', p_partition, goes)
            INTO kept;
    ELSE
        EXECUTE format(
            'WITH per_block AS ('
            '    SELECT tenant_id, block, min(chain_seq) AS first_seq,'
            '           max(chain_seq) AS last_seq, count(chain_seq) AS row_count,'
            '           sum(public.pbl_audit_chain_seq_tag(chain_seq)) AS seq_digest,'
            '           bool_or(kept) AS kept'
            '    FROM (SELECT tenant_id, chain_seq,'
            '                 CASE WHEN block_number ~ ''^[0-9]{1,18}$'''
            '                      THEN block_number::bigint END AS block,'
            '                 (%s) IS NOT TRUE AS kept'
            '          FROM %s) AS r'
            '    GROUP BY tenant_id, block),'
            ' noted AS ('
            '    INSERT INTO public.audit_chain_removals'
            '        (kind, tenant_id, block_number, first_seq, last_seq, row_count, seq_digest,'
            '         source)'
            '    SELECT ''partition'', tenant_id, block, first_seq, last_seq, row_count,'
            '           seq_digest, %L'
            '    FROM per_block'
            '    WHERE row_count > 0 AND NOT EXISTS (SELECT 1 FROM per_block WHERE kept)'
            '    RETURNING 1)'
            ' SELECT coalesce(bool_or(kept), false) FROM per_block',
            goes, p_partition, p_partition::text)
            INTO kept;
    END IF;
    IF kept THEN  -- the exception undoes the ledger rows written above
        RAISE EXCEPTION '% holds rows not yet past retention_until or under legal hold: '
                        'it may not be removed', p_partition
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'pbl retention run removes a partition once every row in it has expired';
    END IF;
    SELECT coalesce(sum(row_count), 0) INTO noted FROM public.audit_chain_removals
    WHERE kind = 'partition' AND source = p_partition::text AND removed_at = now();
    RETURN noted;
END
$$;

ALTER FUNCTION pbl_audit_retention_goes() OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_rewrite_check(regclass) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_rewrite_partition_prepare(regclass, text) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_rewrite_partition_keys(text) OWNER TO pbl_owner;

ALTER FUNCTION pbl_audit_rewrite_partition_swap(regclass, text, bigint) OWNER TO pbl_owner;

REVOKE EXECUTE ON FUNCTION pbl_audit_rewrite_partition_prepare(regclass, text) FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_audit_rewrite_partition_keys(text) FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION pbl_audit_rewrite_partition_swap(regclass, text, bigint) FROM PUBLIC;
