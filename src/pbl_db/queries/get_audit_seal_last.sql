-- The newest seal: the next block links to its hash.
SELECT block_number, seal_hash FROM audit_seals ORDER BY block_number DESC LIMIT 1
