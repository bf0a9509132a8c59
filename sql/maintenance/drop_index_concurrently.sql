-- Drop an invalid index left by a failed REINDEX CONCURRENTLY (*_ccnew / *_ccold) without blocking writes.
DROP INDEX CONCURRENTLY IF EXISTS {index}
