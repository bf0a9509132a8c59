-- A setting as the configuration files (postgresql.conf, postgresql.auto.conf) set it now, which
-- may differ from the running value until a reload or restart, or from a session's value set by
-- ALTER DATABASE / ROLE. Readable by superusers only; no row: the files do not set it.
SELECT f.setting
FROM pg_catalog.pg_file_settings AS f
WHERE f.name = %(name)s AND f.error IS NULL
ORDER BY f.seqno DESC
LIMIT 1
