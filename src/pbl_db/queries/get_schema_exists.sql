-- Whether a schema of this name exists (pbl tables / indexes --schema).
SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = %(schema)s)
