-- pbl's own bookkeeping beside yoyo's: sha256 of each applied migration and its rollback file.
CREATE TABLE IF NOT EXISTS _pbl_migration_checksum (
    migration_id    text PRIMARY KEY,
    sha256          text NOT NULL,
    rollback_sha256 text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     text NOT NULL DEFAULT current_user
)
