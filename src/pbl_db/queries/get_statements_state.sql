-- pg_stat_statements here: on the server, in this database (version, schema, the view's actual
-- columns), preloaded or waiting for a restart, and the settings the report depends on.
SELECT
    (SELECT a.default_version FROM pg_catalog.pg_available_extensions AS a
     WHERE a.name = 'pg_stat_statements') AS available_version,
    e.extversion AS installed_version,
    n.nspname AS schema,
    ARRAY(
        SELECT att.attname::text
        FROM pg_catalog.pg_attribute AS att
        JOIN pg_catalog.pg_class AS c ON c.oid = att.attrelid
        WHERE c.relname = 'pg_stat_statements' AND c.relnamespace = e.extnamespace
          AND att.attnum > 0 AND NOT att.attisdropped
        ORDER BY att.attnum
    ) AS columns,
    current_setting('shared_preload_libraries') AS preload,
    (SELECT p.pending_restart FROM pg_catalog.pg_settings AS p
     WHERE p.name = 'shared_preload_libraries') AS preload_pending,
    current_setting('track_io_timing') AS track_io_timing,
    current_setting('pg_stat_statements.track', true) AS track,
    current_database() AS database,
    (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database()) AS dbid,
    (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) AS superuser
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_extension AS e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
