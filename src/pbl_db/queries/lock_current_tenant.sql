-- Scope row-level security to one tenant until the end of the transaction, sealed (migration 0024).
SELECT pbl_lock_tenant(%(tenant_id)s)
