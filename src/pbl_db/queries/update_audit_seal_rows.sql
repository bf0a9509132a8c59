-- Stamp a batch of a block's rows with the block (the spec's block_number, merkle_root, block_timestamp).
UPDATE audit_logs AS a
SET block_number = %(block_number)s, merkle_root = %(merkle_root)s,
    block_timestamp = %(block_timestamp)s
FROM unnest(%(ids)s::uuid[], %(stamps)s::timestamptz[]) AS k (id, stamp)
WHERE a.id = k.id AND a.event_timestamp = k.stamp AND a.tenant_id = %(tenant_id)s
  AND a.event_timestamp >= %(start)s AND a.event_timestamp < %(end)s
  AND a.block_number IS NULL
