-- pbl tune (PostgreSQL 13, 14): the named settings with value, unit, limits, source, context, and whether this role may ALTER SYSTEM them.
SELECT name, setting, current_setting(name) AS current, unit, vartype, min_val, max_val,
       enumvals, boot_val, source, sourcefile, context, pending_restart,
       current_setting('is_superuser')::boolean AS can_alter_system
FROM pg_catalog.pg_settings
WHERE name = ANY(%(names)s)
