-- An audit row by id with its chain fields, seal block and the text forms of its content.
SELECT a.id, a.tenant_id::text, a.event_timestamp, a.chain_seq, a.chain_prev_hash,
       a.verification_hash, a.block_number, a.merkle_root, a.block_timestamp, {content}
FROM audit_logs AS a
WHERE a.id = %(row_id)s
