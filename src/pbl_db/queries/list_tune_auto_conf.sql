-- pbl tune: the entries postgresql.auto.conf holds now (what ALTER SYSTEM wrote, reloaded or not), the last one per name.
SELECT DISTINCT ON (lower(name)) lower(name) AS name, setting, applied, error
FROM pg_catalog.pg_file_settings
WHERE sourcefile ~ '/postgresql\.auto\.conf$'
ORDER BY lower(name), seqno DESC
