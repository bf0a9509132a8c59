-- User triggers of a schema's tables (partitions' clones left out) with their function's source,
-- for pbl schema check --citus.
SELECT t.relname, g.tgname, p.proname AS function, (g.tgtype & 1) = 1 AS row_level,
       p.prosrc AS source
FROM pg_trigger g
JOIN pg_class t ON t.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_proc p ON p.oid = g.tgfoid
WHERE n.nspname = %(schema)s AND NOT g.tgisinternal AND NOT t.relispartition
ORDER BY t.relname, g.tgname
