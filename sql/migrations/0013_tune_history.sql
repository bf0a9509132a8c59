-- pbl tune history: each `pbl tune apply` records the postgresql.auto.conf entries it replaced,
-- so `pbl tune revert` restores them, from any DBA machine that reaches this database.
-- ALTER SYSTEM is cluster-wide; the history lives in the pbl database it was applied through.
CREATE TABLE pbl_tune_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user,
    client text,
    profile text NOT NULL,
    inputs jsonb NOT NULL DEFAULT '{}',
    server_version integer NOT NULL,
    reverted_at timestamptz,
    reverted_by text,
    CONSTRAINT pbl_tune_history_profile_known CHECK (profile IN ('computed', 'spec')),
    CONSTRAINT pbl_tune_history_reverted_pair CHECK ((reverted_at IS NULL) = (reverted_by IS NULL))
);

-- One row per setting a change wrote, in the order it wrote them. was_set: postgresql.auto.conf
-- held an entry for it before (previous_value, as written there); otherwise revert RESETs it.
CREATE TABLE pbl_tune_history_settings (
    change_id bigint NOT NULL REFERENCES pbl_tune_history (id) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    name text NOT NULL,
    was_set boolean NOT NULL,
    previous_value text,
    previous_effective text,
    new_value text NOT NULL,
    PRIMARY KEY (change_id, name),
    CONSTRAINT pbl_tune_history_settings_previous CHECK (was_set = (previous_value IS NOT NULL)),
    CONSTRAINT pbl_tune_history_settings_ordinal UNIQUE (change_id, ordinal)
);

ALTER TABLE pbl_tune_history OWNER TO pbl_owner;

ALTER TABLE pbl_tune_history_settings OWNER TO pbl_owner;
