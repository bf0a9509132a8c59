-- Who and what a report describes.
SELECT current_database(), current_setting('server_version'), now(), pg_database_size(current_database()),
       to_regclass('public.pbl_report_snapshots') IS NOT NULL
