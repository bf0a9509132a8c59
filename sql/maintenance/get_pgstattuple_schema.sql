-- The schema pgstattuple is installed in, if it is (NULL otherwise).
SELECT n.nspname
FROM pg_catalog.pg_extension AS e
JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
WHERE e.extname = 'pgstattuple'
