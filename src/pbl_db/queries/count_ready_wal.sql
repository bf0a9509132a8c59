-- WAL segments waiting to be archived (needs superuser or pg_monitor).
SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'
