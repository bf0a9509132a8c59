-- This database's pg_stat_statements entries minus a snapshot's counters, for
-- list_top_statements. An entry the snapshot lacks is new; one whose counters went down, or whose
-- stats_since changed (extension 1.11+), was reset or evicted and re-created after the snapshot:
-- its counters count whole. Expressions and the view follow the view's columns (psycopg.sql).
WITH cur AS (
    SELECT s.userid, s.dbid, s.queryid, {toplevel} AS toplevel, min(s.query) AS query,
           sum(s.calls) AS calls, sum(s.rows) AS rows, sum({exec_ms}) AS exec_ms,
           sum({plan_ms}) AS plan_ms, sum({io_ms}) AS io_ms, max({stats_since}) AS stats_since
    FROM {view} AS s
    WHERE s.dbid = %(dbid)s AND s.queryid IS NOT NULL
    GROUP BY s.userid, s.dbid, s.queryid, 4
), joined AS (
    SELECT cur.*, o.calls AS old_calls, o.rows AS old_rows, o.exec_ms AS old_exec_ms,
           o.plan_ms AS old_plan_ms, o.io_ms AS old_io_ms, o.snapshot_id IS NULL AS is_new,
           o.snapshot_id IS NOT NULL AND (
               cur.calls < o.calls OR cur.rows < o.rows OR cur.exec_ms < o.exec_ms
               OR cur.plan_ms < o.plan_ms OR cur.io_ms < o.io_ms
               OR cur.stats_since IS DISTINCT FROM o.stats_since
           ) AS restarted
    FROM cur
    LEFT JOIN pbl_statement_snapshot_rows AS o
        ON o.snapshot_id = %(snapshot_id)s AND o.userid = cur.userid AND o.dbid = cur.dbid
           AND o.queryid = cur.queryid AND o.toplevel = cur.toplevel
)
SELECT j.queryid, j.userid, j.query, j.toplevel, j.is_new, j.restarted,
       CASE WHEN j.is_new OR j.restarted THEN j.calls ELSE j.calls - j.old_calls END AS calls,
       CASE WHEN j.is_new OR j.restarted THEN j.rows ELSE j.rows - j.old_rows END AS rows,
       CASE WHEN j.is_new OR j.restarted THEN j.exec_ms ELSE j.exec_ms - j.old_exec_ms END
           AS exec_ms,
       CASE WHEN j.is_new OR j.restarted THEN j.plan_ms ELSE j.plan_ms - j.old_plan_ms END
           AS plan_ms,
       CASE WHEN j.is_new OR j.restarted THEN j.io_ms ELSE j.io_ms - j.old_io_ms END AS io_ms
FROM joined AS j
