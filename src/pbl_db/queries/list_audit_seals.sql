-- Seal records in block order: all of them (the seal chain), or one tenant's.
SELECT block_number, tenant_id::text, period, period_start, period_end, leaf_count, first_seq,
       last_seq, merkle_root, sealed_at, sealed_by, prev_seal_hash, seal_hash
FROM audit_seals
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
ORDER BY block_number
