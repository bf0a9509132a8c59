DROP FUNCTION pbl_purge_expired_audit_logs(integer, regclass, timestamptz);

-- 0007's definition
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
