-- The tenants pbl audit verify walks (one, or all), each with its chain head and how many heads its chain has.
SELECT t.id, t.slug, h.heads, h.last_seq, h.prev_hash, h.last_hash
FROM tenants AS t
LEFT JOIN audit_chains AS c ON c.tenant_id = t.id
LEFT JOIN LATERAL (
    SELECT count(*) OVER () AS heads, last_seq, prev_hash, last_hash
    FROM audit_chain_heads
    WHERE chain_id = c.id
    ORDER BY last_seq DESC
    LIMIT 1
) AS h ON true
WHERE %(tenant_id)s::uuid IS NULL OR t.id = %(tenant_id)s::uuid
ORDER BY t.slug, t.id
