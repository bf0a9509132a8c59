-- Rebuild one index without blocking writes (PostgreSQL 12+); must run outside a transaction block.
REINDEX INDEX CONCURRENTLY {index}
