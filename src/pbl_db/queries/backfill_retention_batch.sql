-- One batch of the retention_until backfill in one partition, in (event_timestamp, id) order after a cursor.
WITH batch AS (
    SELECT a.id, a.event_timestamp
    FROM {partition} AS a
    LEFT JOIN audit_retention_policies AS p ON p.regulation = upper(a.regulation)
    WHERE a.event_timestamp >= %(after_ts)s::timestamptz
      AND (a.event_timestamp, a.id) > (%(after_ts)s::timestamptz, %(after_id)s::uuid)
      AND (a.retention_until IS NULL
           OR a.retention_until < a.created_at + coalesce(
                p.retention,
                (SELECT retention FROM audit_retention_policies WHERE regulation = 'DEFAULT')))
    ORDER BY a.event_timestamp, a.id
    LIMIT %(limit)s
),
updated AS (
    UPDATE {partition} AS t
    SET retention_until = greatest(t.retention_until,
                                   pbl_audit_retention_until(t.regulation::text, t.created_at))
    FROM batch AS b
    WHERE t.id = b.id AND t.event_timestamp = b.event_timestamp
    RETURNING t.event_timestamp, t.id, t.regulation
),
last AS (
    SELECT event_timestamp::text AS after_ts, id AS after_id
    FROM updated ORDER BY event_timestamp DESC, id DESC LIMIT 1
)
SELECT CASE WHEN upper(u.regulation) = ANY(%(policies)s::text[]) THEN upper(u.regulation)
            ELSE 'DEFAULT' END AS regulation,
       count(*) AS rows,
       (SELECT after_ts FROM last) AS after_ts,
       (SELECT after_id FROM last) AS after_id
FROM updated AS u
GROUP BY 1
