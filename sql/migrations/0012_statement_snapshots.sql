-- pbl slow-queries snapshot: the pg_stat_statements counters of this database at a moment, so
-- `pbl slow-queries --since SNAPSHOT` reports the work done since then without anyone resetting
-- the statistics. Query texts are not copied: the delta reads them from the live view, which
-- hides other roles' texts from those without pg_read_all_stats (a copy here would not).
CREATE TABLE pbl_statement_snapshots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label text,
    taken_at timestamptz NOT NULL DEFAULT now(),
    taken_by text NOT NULL DEFAULT session_user,
    dbid oid NOT NULL,
    extension_version text NOT NULL,
    -- pg_stat_statements_info (extension 1.9+): a later stats_reset or a higher dealloc count
    -- means counters were reset or entries evicted after the snapshot
    stats_reset timestamptz,
    dealloc bigint,
    CONSTRAINT pbl_statement_snapshots_label_length CHECK (char_length(label) BETWEEN 1 AND 200)
);

-- One row per pg_stat_statements entry of the database, keyed as the view keys them. Times in
-- milliseconds: exec (total_exec_time, total_time before extension 1.8), plan, and block I/O.
CREATE TABLE pbl_statement_snapshot_rows (
    snapshot_id bigint NOT NULL REFERENCES pbl_statement_snapshots (id) ON DELETE CASCADE,
    userid oid NOT NULL,
    dbid oid NOT NULL,
    queryid bigint NOT NULL,
    toplevel boolean NOT NULL,
    calls bigint NOT NULL,
    rows bigint NOT NULL,
    exec_ms double precision NOT NULL,
    plan_ms double precision NOT NULL,
    io_ms double precision NOT NULL,
    -- extension 1.11+: when the entry's counters started; a later value means it was re-created
    stats_since timestamptz,
    PRIMARY KEY (snapshot_id, userid, dbid, queryid, toplevel)
);

ALTER TABLE pbl_statement_snapshots OWNER TO pbl_owner;

ALTER TABLE pbl_statement_snapshot_rows OWNER TO pbl_owner;

-- counters only, no query texts: reports may read them
GRANT SELECT ON pbl_statement_snapshots, pbl_statement_snapshot_rows TO pbl_reporting;
