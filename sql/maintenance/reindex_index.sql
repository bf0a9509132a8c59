-- Rebuild one index in place: holds a SHARE lock on its table (writes wait) and an ACCESS EXCLUSIVE lock on the index.
REINDEX INDEX {index}
