-- Which of the migration bookkeeping tables exist (yoyo's log of applied ids, pbl's checksums).
SELECT to_regclass('_yoyo_migration') IS NOT NULL AS has_yoyo,
       to_regclass('_pbl_migration_checksum') IS NOT NULL AS has_checksums
