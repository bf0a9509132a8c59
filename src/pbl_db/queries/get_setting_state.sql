-- A setting's current value and whether changing it needs a restart.
SELECT setting, context = 'postmaster' AS needs_restart FROM pg_settings WHERE name = %(name)s
