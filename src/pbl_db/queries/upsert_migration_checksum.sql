-- Record (or, after review, re-record) the checksums of an applied migration.
INSERT INTO _pbl_migration_checksum (migration_id, sha256, rollback_sha256)
VALUES (%(migration_id)s, %(sha256)s, %(rollback_sha256)s)
ON CONFLICT (migration_id) DO UPDATE
SET sha256 = excluded.sha256,
    rollback_sha256 = excluded.rollback_sha256,
    recorded_at = now(),
    recorded_by = current_user
