-- One seal record by block number.
SELECT block_number, tenant_id::text, period, period_start, period_end, leaf_count, first_seq,
       last_seq, merkle_root, sealed_at, sealed_by, prev_seal_hash, seal_hash
FROM audit_seals
WHERE block_number = %(block_number)s
