-- pbl report: the sizes of tables and indexes at each report, so the next report shows growth.
-- Sizes only (names and bytes), no row content.
CREATE TABLE pbl_report_snapshots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at timestamptz NOT NULL DEFAULT now(),
    taken_by text NOT NULL DEFAULT session_user,
    database_bytes bigint NOT NULL,
    -- {"relations": {"schema.name": bytes, ...}}
    sizes jsonb NOT NULL,
    CONSTRAINT pbl_report_snapshots_sizes_object CHECK (jsonb_typeof(sizes) = 'object')
);

ALTER TABLE pbl_report_snapshots OWNER TO pbl_owner;

-- pbl_reporting stays read-only: it sees the history; recording needs the owner's role
GRANT SELECT ON pbl_report_snapshots TO pbl_reporting;
