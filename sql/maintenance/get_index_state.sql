-- Size and validity of one index by schema and name (REINDEX CONCURRENTLY gives the rebuilt index a new oid).
SELECT CASE WHEN c.relkind = 'I'
            THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(c.oid) AS p WHERE p.isleaf)
            ELSE pg_catalog.pg_relation_size(c.oid)
       END::bigint AS bytes,
       i.indisvalid AS valid
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(index)s
