-- A tenant's rows removed one by one (purge path, retention rewrites), in chain order from a position, with their hashes.
SELECT chain_seq, leaf_hash, prev_hash, block_number
FROM audit_chain_removed_leaves
WHERE tenant_id = %(tenant_id)s AND range_last >= %(from_seq)s AND chain_seq >= %(from_seq)s
ORDER BY chain_seq
