-- Record one seal block.
INSERT INTO audit_seals (block_number, tenant_id, period, period_start, period_end, leaf_count,
                         first_seq, last_seq, merkle_root, prev_seal_hash, seal_hash, sealed_at,
                         sealed_by)
VALUES (%(block_number)s, %(tenant_id)s, %(period)s, %(period_start)s, %(period_end)s,
        %(leaf_count)s, %(first_seq)s, %(last_seq)s, %(merkle_root)s, %(prev_seal_hash)s,
        %(seal_hash)s, %(sealed_at)s, %(sealed_by)s)
