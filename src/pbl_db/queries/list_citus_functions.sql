-- Functions of a schema and their source, to follow what a trigger function calls (pbl schema check --citus).
SELECT p.proname, p.prosrc
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %(schema)s AND p.prokind = 'f'
