-- One sealer at a time (the seal chain is global); readers go on. Waits at most lock_timeout.
LOCK TABLE audit_seals IN SHARE ROW EXCLUSIVE MODE
