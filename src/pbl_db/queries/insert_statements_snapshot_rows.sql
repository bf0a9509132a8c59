-- Copy this database's pg_stat_statements counters into a snapshot (no query texts). The
-- expressions and the view follow the view's actual columns (psycopg.sql).
INSERT INTO pbl_statement_snapshot_rows
    (snapshot_id, userid, dbid, queryid, toplevel, calls, rows, exec_ms, plan_ms, io_ms,
     stats_since)
SELECT %(snapshot_id)s, s.userid, s.dbid, s.queryid, {toplevel}, sum(s.calls), sum(s.rows),
       sum({exec_ms}), sum({plan_ms}), sum({io_ms}), max({stats_since})
FROM {view} AS s
WHERE s.dbid = %(dbid)s AND s.queryid IS NOT NULL
GROUP BY s.userid, s.dbid, s.queryid, 5
