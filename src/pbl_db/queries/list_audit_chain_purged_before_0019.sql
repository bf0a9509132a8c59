-- A tenant's rows removed by the purge path, in chain order from a position, with their hashes (before migration 0019).
SELECT first_seq, leaf_hash, prev_hash, block_number
FROM audit_chain_removals
WHERE tenant_id = %(tenant_id)s AND kind = 'purge' AND first_seq >= %(from_seq)s
ORDER BY first_seq
