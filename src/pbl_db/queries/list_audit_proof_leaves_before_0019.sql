-- The leaves of one block in chain order: its rows, and its rows removed by the purge path (before migration 0019).
SELECT chain_seq, verification_hash FROM audit_logs
WHERE tenant_id = %(tenant_id)s AND block_number = %(block)s
  AND event_timestamp >= %(start)s AND event_timestamp < %(end)s
UNION ALL
SELECT first_seq, leaf_hash FROM audit_chain_removals
WHERE tenant_id = %(tenant_id)s AND kind = 'purge' AND block_number = %(block_number)s
ORDER BY 1
