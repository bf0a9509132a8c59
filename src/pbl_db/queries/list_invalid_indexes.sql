-- Indexes left invalid (e.g. by a failed CREATE INDEX CONCURRENTLY), schema-qualified.
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
