-- Primary keys, unique and exclusion constraints and other unique indexes of a schema's tables
-- with their columns (NULL for an expression), for pbl schema check --citus.
SELECT t.relname, i.relname AS name,
       CASE WHEN con.contype = 'p' THEN 'primary key' WHEN con.contype = 'u' THEN 'unique'
            WHEN con.contype = 'x' THEN 'exclusion' ELSE 'unique index' END AS kind,
       ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k (attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             WHERE k.n <= x.indnkeyatts  -- key columns only: INCLUDE columns do not count
             ORDER BY k.n) AS columns,
       coalesce(pg_get_constraintdef(con.oid), pg_get_indexdef(i.oid)) AS definition
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid
                              AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = %(schema)s AND NOT t.relispartition AND t.relkind IN ('r', 'p')
  AND (x.indisunique OR con.contype = 'x')
ORDER BY t.relname, i.relname
