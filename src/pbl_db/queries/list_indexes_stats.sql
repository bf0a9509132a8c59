-- Indexes with size, scans, validity, the constraint they back and their key columns (for unused and duplicate detection); partitioned indexes summed over their leaves.
SELECT i.indexrelid AS oid,
       n.nspname AS schema,
       t.relname AS "table",
       c.relname AS "index",
       am.amname AS method,
       c.relkind = 'I' AS partitioned,
       c.relispartition AS is_partition,
       i.indisvalid AS valid,
       i.indisready AS ready,
       i.indisunique AS "unique",
       i.indisprimary AS "primary",
       i.indisreplident AS replica_identity,
       (SELECT k.conname FROM pg_catalog.pg_constraint AS k
        WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
        ORDER BY k.contype, k.conname LIMIT 1) AS "constraint",
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k
               WHERE k.conindid = i.indexrelid) AS backs_constraint,
       CASE WHEN c.relkind = 'I'
            THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p WHERE p.isleaf)
            ELSE pg_catalog.pg_relation_size(i.indexrelid)
       END::bigint AS bytes,
       CASE WHEN c.relkind = 'I'
            THEN (SELECT coalesce(sum(s2.idx_scan), 0)
                  FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p
                  JOIN pg_catalog.pg_stat_all_indexes AS s2 ON s2.indexrelid = p.relid
                  WHERE p.isleaf)
            ELSE coalesce(s.idx_scan, 0)
       END::bigint AS scans,
       ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k) AS key_columns,
       ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(i.indnkeyatts + 1, i.indnatts) AS k ORDER BY k) AS include_columns,
       i.indclass::text AS opclasses,
       i.indcollation::text AS collations,
       i.indoption::text AS options,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_class AS t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am AS am ON am.oid = c.relam
LEFT JOIN pg_catalog.pg_stat_all_indexes AS s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text)
  AND (%(partitions)s OR NOT c.relispartition OR NOT i.indisvalid)
ORDER BY n.nspname, t.relname, c.relname
