-- pbl tune: may this role ALTER SYSTEM at all (PostgreSQL 17's allow_alter_system), reload the configuration, and read and write the tune history tables?
SELECT current_setting('is_superuser')::boolean AS superuser,
       coalesce(current_setting('allow_alter_system', true), 'on') <> 'off' AS alter_system_allowed,
       pg_catalog.has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE') AS can_reload,
       pg_catalog.to_regclass('public.pbl_tune_history') IS NOT NULL
           AND pg_catalog.to_regclass('public.pbl_tune_history_settings') IS NOT NULL AS has_history,
       CASE WHEN pg_catalog.to_regclass('public.pbl_tune_history') IS NOT NULL
                 AND pg_catalog.to_regclass('public.pbl_tune_history_settings') IS NOT NULL
            THEN pg_catalog.has_table_privilege('public.pbl_tune_history', 'SELECT')
                 AND pg_catalog.has_table_privilege('public.pbl_tune_history', 'INSERT')
                 AND pg_catalog.has_table_privilege('public.pbl_tune_history', 'UPDATE')
                 AND pg_catalog.has_table_privilege('public.pbl_tune_history_settings', 'SELECT')
                 AND pg_catalog.has_table_privilege('public.pbl_tune_history_settings', 'INSERT')
       END AS can_write_history
