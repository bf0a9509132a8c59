-- Discard this database's pg_stat_statements entries (extension 1.6+: userid 0 and queryid 0
-- mean all); the function is the extension's pg_stat_statements_reset (psycopg.sql).
SELECT {reset}(0::oid, %(dbid)s::oid, 0::bigint)
