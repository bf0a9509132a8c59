-- Refuses while the ledger holds rewrite entries: dropping them would leave gaps that
-- pbl audit verify reports as tampering.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_chain_removals WHERE kind = 'rewrite') THEN
        RAISE EXCEPTION 'audit_chain_removals holds rewrite entries: 0019 cannot be rolled back'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

DROP FUNCTION pbl_audit_rewrite_partition_swap(regclass, text, bigint);

DROP FUNCTION pbl_audit_rewrite_partition_keys(text);

DROP FUNCTION pbl_audit_rewrite_partition_prepare(regclass, text);

DROP FUNCTION pbl_audit_rewrite_check(regclass);

DROP FUNCTION pbl_audit_retention_goes();

-- 0017's definition
CREATE OR REPLACE FUNCTION pbl_audit_note_partition_removal(p_partition regclass) RETURNS bigint
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

DROP VIEW audit_chain_removed_leaves;

ALTER TABLE audit_chain_removals DROP CONSTRAINT audit_chain_removals_rewrite_leaves;

ALTER TABLE audit_chain_removals DROP CONSTRAINT audit_chain_removals_kind_known;

-- squawk-ignore constraint-missing-not-valid
ALTER TABLE audit_chain_removals ADD CONSTRAINT audit_chain_removals_kind_known
    CHECK (kind IN ('purge', 'partition'));

ALTER TABLE audit_chain_removals DROP COLUMN leaves;
