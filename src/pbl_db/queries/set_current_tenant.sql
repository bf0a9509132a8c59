-- Scope row-level security to one tenant until the end of the current transaction (SET LOCAL).
SELECT set_config('app.current_tenant_id', %(tenant_id)s, true)
