-- How many pg_stat_statements entries a reset would discard: this database's, or every
-- database's; the view is the extension's (psycopg.sql).
SELECT count(*) FROM {view} AS s WHERE %(all)s OR s.dbid = %(dbid)s
