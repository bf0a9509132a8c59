-- WAL archiving as the archiver sees it, with the settings that drive it.
SELECT a.archived_count, a.last_archived_wal, a.last_archived_time,
       a.failed_count, a.last_failed_wal, a.last_failed_time,
       current_setting('archive_mode') AS archive_mode,
       current_setting('wal_level') AS wal_level,
       current_setting('archive_command') AS archive_command
FROM pg_stat_archiver AS a
