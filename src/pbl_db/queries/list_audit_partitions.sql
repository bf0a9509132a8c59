-- audit_logs partitions from the catalog: bounds (NULL for DEFAULT), estimated rows, size.
SELECT c.relname AS name,
       p.bound = 'DEFAULT' AS is_default,
       (regexp_match(p.bound, $re$FROM \('([^']+)'\)$re$))[1]::timestamptz AS range_from,
       (regexp_match(p.bound, $re$TO \('([^']+)'\)$re$))[1]::timestamptz AS range_to,
       CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS rows_estimate,
       pg_total_relation_size(c.oid) AS size_bytes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS size
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) AS p
WHERE i.inhparent = 'public.audit_logs'::regclass
ORDER BY p.bound = 'DEFAULT', range_from, c.relname
