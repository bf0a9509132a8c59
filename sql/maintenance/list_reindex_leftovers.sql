-- Invalid indexes on one table named like the leftovers of a failed REINDEX CONCURRENTLY of index %(index)s (<name>_ccnew, <name>_ccold, with an optional number).
SELECT n.nspname AS schema, c.relname AS "index"
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE i.indrelid = %(table_oid)s::bigint::oid
  AND NOT i.indisvalid
  AND left(c.relname, length(%(index)s)) = %(index)s
  AND substr(c.relname, length(%(index)s) + 1) ~ '^_cc(new|old)[0-9]*$'
