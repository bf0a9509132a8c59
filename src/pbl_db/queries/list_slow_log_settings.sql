-- The settings pbl slow-queries enable reads or changes: value, unit, and whether a change needs
-- a restart (context postmaster), where the session's value comes from (source: a database or
-- role setting overrides ALTER SYSTEM) and whether a change waits for a restart.
SELECT p.name, p.setting, p.unit, p.context, p.source, p.pending_restart
FROM pg_catalog.pg_settings AS p
WHERE p.name = ANY(%(names)s)
