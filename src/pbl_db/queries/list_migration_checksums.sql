-- Content checksums pbl recorded for applied migrations (drift detection).
SELECT migration_id, sha256, rollback_sha256, recorded_at, recorded_by
FROM _pbl_migration_checksum
