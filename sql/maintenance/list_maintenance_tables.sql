-- Tables that ANALYZE and VACUUM may name, with the schema's position on the search_path (NULL when not on it).
SELECT c.oid,
       n.nspname AS schema,
       c.relname AS "table",
       c.relkind::text AS relkind,
       c.relispartition AS is_partition,
       array_position(current_schemas(false), n.nspname) AS search_position
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY n.nspname, c.relname
