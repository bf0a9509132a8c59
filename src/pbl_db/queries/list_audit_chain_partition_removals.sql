-- A tenant's rows removed with whole partitions: per partition and seal block, the count, range and digest of their chain positions.
SELECT first_seq, last_seq, row_count, seq_digest, block_number, source
FROM audit_chain_removals
WHERE tenant_id = %(tenant_id)s AND kind = 'partition'
ORDER BY first_seq
