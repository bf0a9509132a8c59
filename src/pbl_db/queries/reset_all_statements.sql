-- Discard every pg_stat_statements entry of the cluster; the function is the extension's
-- pg_stat_statements_reset (psycopg.sql).
SELECT {reset}()
