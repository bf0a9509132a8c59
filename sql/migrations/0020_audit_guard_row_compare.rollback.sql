-- The guard as 0017 wrote it: two to_jsonb() of the whole row on every update.
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
