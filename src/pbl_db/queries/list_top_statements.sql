-- Rank statements (the rows of a source query: the current entries, or a delta since a snapshot)
-- by a key, with each one's share of the database's total time; source and key are filled in
-- with psycopg.sql. The share counts top-level statements only (nested ones are inside them).
WITH s AS (
{source}
), r AS (
    SELECT s.*, s.exec_ms + s.plan_ms AS total_ms, (s.exec_ms + s.plan_ms) / s.calls AS mean_ms,
           sum(s.exec_ms + s.plan_ms) FILTER (WHERE s.toplevel) OVER () AS all_ms
    FROM s
    WHERE s.calls > 0
)
SELECT r.queryid, pg_catalog.pg_get_userbyid(r.userid) AS username, r.query, r.calls, r.rows,
       r.total_ms, r.mean_ms, r.exec_ms, r.plan_ms, r.io_ms, r.toplevel,
       100 * r.total_ms / nullif(r.all_ms, 0) AS share_pct, r.is_new, r.restarted
FROM r
WHERE r.calls >= %(min_calls)s
ORDER BY {order_key} DESC NULLS LAST, r.total_ms DESC, r.queryid
LIMIT %(top)s
