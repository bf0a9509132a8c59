-- The append-only guard of audit_logs, cheaper on the updates it allows (sealing stamps every
-- row once; retention and verification touch lifecycle columns): instead of two to_jsonb() of
-- the whole row, which cost about half of what sealing spent per row (docs/audit.md), it checks
-- that NEW with the lifecycle columns carried over from OLD is OLD byte for byte. It refuses
-- what the old guard refused and also a change that jsonb comparison would miss (1.0 -> 1.00).
-- retention_until is raised back to its policy's value only when an update changes it.
CREATE OR REPLACE FUNCTION pbl_audit_logs_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lifecycle constant text[] := ARRAY['status', 'verification_notes', 'verified_at',
                                       'verified_by', 'retention_until', 'updated_at',
                                       'block_number', 'merkle_root', 'block_timestamp'];
    kept record;
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
    -- NEW with the lifecycle columns put back to OLD's must be OLD, byte for byte (*= is
    -- record_image_eq: a numeric 1.0 -> 1.00, in a column or in a jsonb value, is a change too).
    kept := NEW;
    kept.status := OLD.status;
    kept.verification_notes := OLD.verification_notes;
    kept.verified_at := OLD.verified_at;
    kept.verified_by := OLD.verified_by;
    kept.retention_until := OLD.retention_until;
    kept.updated_at := OLD.updated_at;
    kept.block_number := OLD.block_number;
    kept.merkle_root := OLD.merkle_root;
    kept.block_timestamp := OLD.block_timestamp;
    IF NOT kept OPERATOR(pg_catalog.*=) OLD THEN
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
    -- regulation and created_at cannot change, so an update that leaves retention_until alone
    -- keeps the value the policy gave (sealing stamps every row: no policy lookup per row).
    IF NEW.retention_until IS DISTINCT FROM OLD.retention_until THEN
        NEW.retention_until := greatest(NEW.retention_until,
                                        public.pbl_audit_retention_until(NEW.regulation::text,
                                                                         NEW.created_at));
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
