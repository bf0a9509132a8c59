-- Applied migration ids with the time yoyo recorded (UTC, naive in yoyo's table).
SELECT migration_id, applied_at_utc AT TIME ZONE 'UTC' AS applied_at
FROM _yoyo_migration
ORDER BY applied_at_utc, migration_id
