-- Every user index with what pbl maintenance reindex decides on: validity, size, an estimate of btree bloat, a build running on its table, and the index a *_ccnew/*_ccold leftover belongs to.
-- The btree bloat estimate is adapted from ioguix/pgsql-bloat-estimation (btree/btree_bloat.sql,
-- BSD 2-clause): from pg_class.reltuples/relpages and the columns' pg_stats widths it computes the
-- pages the live tuples need at the index's fillfactor; bloat is what the index holds beyond that.
-- NULL when it cannot tell: not btree, never analyzed, a column without statistics or of type name.
WITH idx AS (
    SELECT i.indexrelid AS idxoid, i.indrelid AS tbloid, c.relname AS idxname, t.relname AS tblname,
           n.nspname, c.relpages, c.reltuples, i.indnatts,
           string_to_array(i.indkey::text, ' ')::int[] AS indkey,
           coalesce(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int,
                    90) AS fillfactor
    FROM pg_catalog.pg_index AS i
    JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_catalog.pg_class AS t ON t.oid = i.indrelid
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_am AS am ON am.oid = c.relam
    WHERE am.amname = 'btree' AND c.relkind = 'i' AND c.relpages > 0 AND c.reltuples >= 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
cols AS (
    SELECT x.idxoid, x.attpos,
           CASE WHEN x.indkey[x.attpos] <> 0 THEN x.tblname ELSE x.idxname END AS statrel,
           coalesce(a1.attname, a2.attname) AS attname,
           coalesce(a1.atttypid, a2.atttypid) AS atttypid
    FROM (SELECT idx.*, generate_series(1, idx.indnatts) AS attpos FROM idx) AS x
    LEFT JOIN pg_catalog.pg_attribute AS a1
           ON x.indkey[x.attpos] <> 0 AND a1.attrelid = x.tbloid AND a1.attnum = x.indkey[x.attpos]
    LEFT JOIN pg_catalog.pg_attribute AS a2
           ON x.indkey[x.attpos] = 0 AND a2.attrelid = x.idxoid AND a2.attnum = x.attpos
),
widths AS (
    SELECT idx.idxoid,
           count(s.attname) = idx.indnatts AS complete,
           bool_or(cols.atttypid = 'pg_catalog.name'::regtype) AS has_name_type,
           CASE WHEN max(coalesce(s.null_frac, 0)) = 0 THEN 8 ELSE 8 + ((32 + 8 - 1) / 8) END
               AS index_tuple_hdr_bm,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)) AS nulldatawidth
    FROM idx
    JOIN cols ON cols.idxoid = idx.idxoid
    LEFT JOIN pg_catalog.pg_stats AS s
           ON s.schemaname = idx.nspname AND s.tablename = cols.statrel
          AND s.attname = cols.attname AND NOT s.inherited
    GROUP BY idx.idxoid, idx.indnatts
),
consts AS (
    SELECT current_setting('block_size')::numeric AS bs,
           CASE WHEN version() ~ 'mingw32|64-bit|x86_64|ppc64|ia64|amd64' THEN 8 ELSE 4 END
               AS maxalign,
           24 AS pagehdr,
           16 AS pageopqdata
),
tuple_width AS (
    SELECT w.idxoid,
           (w.index_tuple_hdr_bm + k.maxalign
              - CASE WHEN w.index_tuple_hdr_bm % k.maxalign = 0 THEN k.maxalign
                     ELSE w.index_tuple_hdr_bm % k.maxalign END
            + w.nulldatawidth + k.maxalign
              - CASE WHEN w.nulldatawidth = 0 THEN 0
                     WHEN w.nulldatawidth::integer % k.maxalign = 0 THEN k.maxalign
                     ELSE w.nulldatawidth::integer % k.maxalign END
           )::numeric AS nulldatahdrwidth
    FROM widths AS w CROSS JOIN consts AS k
    WHERE w.complete AND NOT w.has_name_type
),
bloat AS (
    SELECT idx.idxoid,
           (k.bs * greatest(0, idx.relpages - coalesce(1 + ceil(idx.reltuples / floor(
                (k.bs - k.pageopqdata - k.pagehdr) * idx.fillfactor
                / (100 * (4 + tw.nulldatahdrwidth)::float))), 0)))::bigint AS bloat_bytes
    FROM idx
    JOIN tuple_width AS tw ON tw.idxoid = idx.idxoid
    CROSS JOIN consts AS k
)
SELECT c.oid,
       i.indrelid AS table_oid,
       n.nspname AS schema,
       t.relname AS "table",
       c.relname AS "index",
       c.relkind::text AS relkind,
       am.amname AS method,
       i.indisvalid AS valid,
       i.indisunique AS "unique",
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint AS k
               WHERE k.conindid = i.indexrelid AND k.contype = 'x') AS exclusion,
       array_position(current_schemas(false), n.nspname) AS search_position,
       CASE WHEN c.relkind = 'I'
            THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(c.oid) AS p WHERE p.isleaf)
            ELSE pg_catalog.pg_relation_size(c.oid)
       END::bigint AS bytes,
       b.bloat_bytes,
       coalesce(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int,
                90) AS fillfactor,
       (SELECT min(p.pid) FROM pg_catalog.pg_stat_progress_create_index AS p
        WHERE p.relid = i.indrelid) AS building_pid,
       c.relname ~ '_cc(new|old)[0-9]*$' AS leftover_name,
       (SELECT s.relname FROM pg_catalog.pg_index AS si
        JOIN pg_catalog.pg_class AS s ON s.oid = si.indexrelid
        WHERE si.indrelid = i.indrelid AND si.indexrelid <> i.indexrelid
          AND s.relname = regexp_replace(c.relname, '_cc(new|old)[0-9]*$', '')
        LIMIT 1) AS leftover_of
FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_class AS t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am AS am ON am.oid = c.relam
LEFT JOIN bloat AS b ON b.idxoid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY n.nspname, t.relname, c.relname
