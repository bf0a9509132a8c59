-- Tables of a schema (partitions left out) and their tenant_id column, for pbl schema check --citus.
SELECT c.relname, c.relkind = 'p' AS partitioned, a.attname IS NOT NULL AS has_tenant,
       coalesce(a.attnotnull, false) AS tenant_not_null
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
