DROP TRIGGER audit_chain_removals_no_truncate ON audit_chain_removals;

DROP TRIGGER audit_chain_removals_append_only ON audit_chain_removals;

DROP TRIGGER audit_seals_no_truncate ON audit_seals;

DROP TRIGGER audit_seals_append_only ON audit_seals;

DROP TRIGGER audit_logs_chain_purged ON audit_logs;

DROP TRIGGER audit_logs_chain_statement_check ON audit_logs;

DROP TRIGGER audit_logs_chain_statement_start ON audit_logs;

DROP TRIGGER audit_logs_zz_chain_link ON audit_logs;

DROP TRIGGER audit_logs_zz_chain_check ON audit_logs;

-- 0007's definition
CREATE OR REPLACE FUNCTION pbl_audit_logs_guard() RETURNS trigger
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

DROP FUNCTION pbl_audit_chain_append_only();

DROP FUNCTION pbl_audit_note_partition_removal(regclass);

DROP FUNCTION pbl_audit_chain_note_purge();

DROP FUNCTION pbl_audit_chain_statement_check();

DROP FUNCTION pbl_audit_chain_statement_start();

DROP FUNCTION pbl_audit_chain_link();

DROP FUNCTION pbl_audit_chain_check_tenant();

DROP FUNCTION pbl_audit_chain_seq_tag(bigint);

DROP FUNCTION pbl_audit_chain_hash(text, bigint, text);

DROP FUNCTION pbl_audit_chain_content(uuid, uuid, uuid, text, text, text, text, text, integer,
                                      numeric, text, text, inet, text, text, text, text, jsonb,
                                      jsonb, jsonb, jsonb, text, text, boolean, text, text,
                                      timestamptz, timestamptz, timestamptz);

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_audit_logs_unsealed;

-- squawk-ignore require-concurrent-index-deletion
DROP INDEX idx_audit_logs_chain;

DROP TABLE audit_seals;

DROP TABLE audit_chain_removals;

DROP TABLE audit_chain_heads;

DROP TABLE audit_chains;

-- verification_hash keeps the values the chain gave it (0007's column, free-form again)
ALTER TABLE audit_logs
    DROP COLUMN chain_prev_hash,
    DROP COLUMN chain_seq;
