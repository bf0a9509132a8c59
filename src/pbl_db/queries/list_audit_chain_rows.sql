-- One tenant's audit rows in chain order from a position, with the text forms pbl audit verify
-- hashes (the first of them is the row's id).
SELECT a.chain_seq, a.verification_hash, a.chain_prev_hash, a.block_number, a.merkle_root,
       a.block_timestamp, a.event_timestamp, {content}
FROM audit_logs AS a
WHERE a.tenant_id = %(tenant_id)s AND a.chain_seq >= %(from_seq)s
ORDER BY a.chain_seq
