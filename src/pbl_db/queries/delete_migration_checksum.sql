-- Forget the checksums of a migration that was rolled back.
DELETE FROM _pbl_migration_checksum WHERE migration_id = %(migration_id)s
