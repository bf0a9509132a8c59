-- Legal holds: an application (and every row about it: audit events, devices) under a hold is
-- skipped by pbl retention and refused by pbl gdpr erase until the hold is released.
-- Holds are never deleted; a release is recorded beside the hold.
CREATE TABLE legal_holds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    application_id uuid NOT NULL,
    reason text NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now(),
    placed_by text NOT NULL DEFAULT session_user,
    released_at timestamptz,
    released_by text,
    release_reason text,
    CONSTRAINT legal_holds_application_fk FOREIGN KEY (application_id, tenant_id)
        REFERENCES applications (id, tenant_id) ON DELETE RESTRICT,
    CONSTRAINT legal_holds_reason_given CHECK (char_length(btrim(reason)) BETWEEN 1 AND 1000),
    CONSTRAINT legal_holds_release_complete CHECK (
        (released_at IS NULL AND released_by IS NULL AND release_reason IS NULL)
        OR (released_at IS NOT NULL AND released_by IS NOT NULL
            AND char_length(btrim(release_reason)) BETWEEN 1 AND 1000))
);

-- at most one active hold per application
CREATE UNIQUE INDEX legal_holds_one_active ON legal_holds (application_id) WHERE released_at IS NULL;

ALTER TABLE legal_holds OWNER TO pbl_owner;

-- Whether an application is under an active legal hold (the retention and erasure paths ask).
CREATE FUNCTION pbl_application_on_hold(p_application_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (SELECT 1 FROM public.legal_holds
                   WHERE application_id = p_application_id AND released_at IS NULL)
$$;

ALTER FUNCTION pbl_application_on_hold(uuid) OWNER TO pbl_owner;

REVOKE ALL ON FUNCTION pbl_application_on_hold(uuid) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pbl_application_on_hold(uuid) TO application_user, pbl_reporting;

GRANT SELECT ON legal_holds TO pbl_reporting;
