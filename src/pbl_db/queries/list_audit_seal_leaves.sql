-- The chained, unsealed rows of one tenant and period in chain order, locked until the seal commits.
SELECT id, event_timestamp, chain_seq, verification_hash
FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND event_timestamp >= %(start)s AND event_timestamp < %(end)s
  AND block_number IS NULL AND chain_seq IS NOT NULL
ORDER BY chain_seq
FOR NO KEY UPDATE
