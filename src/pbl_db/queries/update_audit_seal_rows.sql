-- Stamp a group's sealed rows with their blocks (the spec's block_number, merkle_root, block_timestamp).
-- A block's rows are its tenant's unsealed rows of its period with chain_seq in [first_seq,
-- last_seq]: exactly its leaves, which this transaction holds locked (a row with a lower seq
-- committed before the leaves were read; the caller checks the count too).
UPDATE audit_logs AS a
SET block_number = k.block_number, merkle_root = k.merkle_root,
    block_timestamp = %(block_timestamp)s
FROM unnest(%(tenants)s::uuid[], %(starts)s::timestamptz[], %(ends)s::timestamptz[],
            %(first_seqs)s::bigint[], %(last_seqs)s::bigint[], %(block_numbers)s::text[],
            %(merkle_roots)s::text[])
     AS k (tenant_id, period_start, period_end, first_seq, last_seq, block_number, merkle_root)
WHERE a.tenant_id = k.tenant_id
  AND a.event_timestamp >= k.period_start AND a.event_timestamp < k.period_end
  AND a.chain_seq BETWEEN k.first_seq AND k.last_seq
  AND a.event_timestamp >= %(low)s AND a.event_timestamp < %(high)s
  AND a.block_number IS NULL
