-- Retention (pbl retention run): the sanctioned deletion path skips rows under a legal hold, and
-- gains a per-partition variant that walks one monthly partition in event_timestamp order, so
-- each batch is a short index range scan instead of a rescan of the table from its start.

-- Up to p_batch_size rows whose retention_until has passed and whose application is not under
-- an active legal hold (0007's function plus the hold check). legal_holds is locked in SHARE
-- mode first, until the purge's transaction ends: a hold placed meanwhile waits for it instead
-- of committing while rows it covers are being deleted by a statement that cannot see it.
CREATE OR REPLACE FUNCTION pbl_purge_expired_audit_logs(p_batch_size integer DEFAULT 10000)
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
    LOCK TABLE public.legal_holds IN SHARE MODE;
    PERFORM set_config('pbl.audit_purge', 'on', true);
    DELETE FROM public.audit_logs AS a
    USING (SELECT id, event_timestamp FROM public.audit_logs
           WHERE retention_until < now()
             AND (application_id IS NULL OR NOT public.pbl_application_on_hold(application_id))
           LIMIT p_batch_size) AS doomed
    WHERE a.id = doomed.id AND a.event_timestamp = doomed.event_timestamp;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('pbl.audit_purge', 'off', true);
    RETURN purged;
END
$$;

-- The same for one partition of audit_logs (a monthly one or the default), in event_timestamp
-- order from p_after (NULL: the start): deletes up to p_batch_size expired rows not under hold
-- and returns how many, the newest event_timestamp among them (the caller's p_after for the
-- next batch: rows of that very timestamp that stay are looked at again, nothing else is) and
-- the count per retention policy ({"GDPR": n, ...}, rows of other regulations under DEFAULT).
-- Like the above, it holds legal_holds in SHARE mode until its transaction ends.
CREATE FUNCTION pbl_purge_expired_audit_logs(p_batch_size integer, p_partition regclass,
                                             p_after timestamptz)
    RETURNS TABLE (purged bigint, last_event timestamptz, by_regulation jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'batch size must be positive, not %', p_batch_size;
    END IF;
    IF p_partition IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_inherits
        WHERE inhrelid = p_partition AND inhparent = 'public.audit_logs'::regclass) THEN
        RAISE EXCEPTION '% is not a partition of audit_logs', p_partition;
    END IF;
    LOCK TABLE public.legal_holds IN SHARE MODE;
    PERFORM set_config('pbl.audit_purge', 'on', true);
    EXECUTE format(
        'WITH doomed AS ('
        '    SELECT id, event_timestamp FROM %1$s'
        '    WHERE event_timestamp >= coalesce($1, ''-infinity''::timestamptz)'
        '      AND retention_until < now()'
        '      AND (application_id IS NULL'
        '           OR NOT public.pbl_application_on_hold(application_id))'
        '    ORDER BY event_timestamp'
        '    LIMIT $2),'
        ' gone AS ('
        '    DELETE FROM %1$s AS a USING doomed'
        '    WHERE a.id = doomed.id AND a.event_timestamp = doomed.event_timestamp'
        '    RETURNING a.event_timestamp, a.regulation)'
        ' SELECT count(*), max(event_timestamp),'
        '        coalesce((SELECT jsonb_object_agg(policy, n) FROM ('
        '            SELECT coalesce(p.regulation, ''DEFAULT'') AS policy, count(*) AS n'
        '            FROM gone AS g'
        '            LEFT JOIN public.audit_retention_policies AS p'
        '                   ON p.regulation = upper(g.regulation)'
        '            GROUP BY 1) AS per_policy), ''{}''::jsonb)'
        ' FROM gone', p_partition)
        INTO purged, last_event, by_regulation
        USING p_after, p_batch_size;
    PERFORM set_config('pbl.audit_purge', 'off', true);
    RETURN NEXT;
END
$$;

ALTER FUNCTION pbl_purge_expired_audit_logs(integer, regclass, timestamptz) OWNER TO pbl_owner;

REVOKE EXECUTE ON FUNCTION pbl_purge_expired_audit_logs(integer, regclass, timestamptz)
    FROM PUBLIC;
