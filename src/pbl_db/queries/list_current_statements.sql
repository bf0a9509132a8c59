-- This database's pg_stat_statements entries as list_top_statements reads them. The time
-- expressions and the view's name follow the view's actual columns (filled in with psycopg.sql).
SELECT s.queryid, s.userid, s.query, s.calls, s.rows,
       {exec_ms} AS exec_ms, {plan_ms} AS plan_ms, {io_ms} AS io_ms, {toplevel} AS toplevel,
       false AS is_new, false AS restarted
FROM {view} AS s
WHERE s.dbid = %(dbid)s
