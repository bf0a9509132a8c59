-- Tables with sizes, row estimates, dead tuples and vacuum/analyze times; partitioned tables summed over their leaf partitions.
WITH rel AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition, c.reltuples, c.relpages
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
leaf AS (
    SELECT r.oid,
           pg_catalog.pg_table_size(r.oid) AS table_bytes,
           pg_catalog.pg_indexes_size(r.oid) AS index_bytes,
           CASE WHEN r.reltuples < 0 OR (r.reltuples = 0 AND r.relpages = 0)
                THEN coalesce(s.n_live_tup, 0)
                ELSE r.reltuples END::bigint AS rows_estimate,
           coalesce(s.n_live_tup, 0) AS live_tuples,
           coalesce(s.n_dead_tup, 0) AS dead_tuples,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
    FROM rel AS r
    LEFT JOIN pg_catalog.pg_stat_all_tables AS s ON s.relid = r.oid
    WHERE r.relkind <> 'p'
)
SELECT r.nspname AS schema,
       r.relname AS "table",
       CASE r.relkind WHEN 'p' THEN 'partitioned'
                      WHEN 'm' THEN 'materialized view'
                      ELSE CASE WHEN r.relispartition THEN 'partition' ELSE 'table' END
       END AS kind,
       (SELECT pn.nspname FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS pc ON pc.oid = i.inhparent
        JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE r.relispartition AND i.inhrelid = r.oid) AS parent_schema,
       (SELECT pc.relname FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS pc ON pc.oid = i.inhparent
        WHERE r.relispartition AND i.inhrelid = r.oid) AS parent,
       coalesce(l.table_bytes, agg.table_bytes, 0)::bigint AS table_bytes,
       coalesce(l.index_bytes, agg.index_bytes, 0)::bigint AS index_bytes,
       coalesce(l.rows_estimate, agg.rows_estimate, 0)::bigint AS rows_estimate,
       coalesce(l.live_tuples, agg.live_tuples, 0)::bigint AS live_tuples,
       coalesce(l.dead_tuples, agg.dead_tuples, 0)::bigint AS dead_tuples,
       coalesce(l.last_vacuum, agg.last_vacuum) AS last_vacuum,
       coalesce(l.last_autovacuum, agg.last_autovacuum) AS last_autovacuum,
       coalesce(s.last_analyze, l.last_analyze) AS last_analyze,
       coalesce(s.last_autoanalyze, l.last_autoanalyze) AS last_autoanalyze,
       (SELECT count(*) FROM pg_catalog.pg_inherits AS i
        WHERE r.relkind = 'p' AND i.inhparent = r.oid)::integer AS partitions
FROM rel AS r
LEFT JOIN leaf AS l ON l.oid = r.oid
LEFT JOIN pg_catalog.pg_stat_all_tables AS s ON s.relid = r.oid AND r.relkind = 'p'
LEFT JOIN LATERAL (
    SELECT sum(lf.table_bytes) AS table_bytes,
           sum(lf.index_bytes) AS index_bytes,
           sum(lf.rows_estimate) AS rows_estimate,
           sum(lf.live_tuples) AS live_tuples,
           sum(lf.dead_tuples) AS dead_tuples,
           min(lf.last_vacuum) AS last_vacuum,
           min(lf.last_autovacuum) AS last_autovacuum
    FROM pg_catalog.pg_partition_tree(r.oid) AS t
    JOIN leaf AS lf ON lf.oid = t.relid
    WHERE t.isleaf
) AS agg ON r.relkind = 'p'
WHERE (%(schema)s::text IS NULL OR r.nspname = %(schema)s::text)
  AND (%(partitions)s OR NOT r.relispartition)
ORDER BY coalesce(l.table_bytes, agg.table_bytes, 0) + coalesce(l.index_bytes, agg.index_bytes, 0)
         DESC, r.nspname, r.relname
