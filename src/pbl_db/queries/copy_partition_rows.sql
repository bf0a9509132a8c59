-- Copy rows between standalone tables as they are (no triggers fire): one month, or the infinite rest.
INSERT INTO {target} ({columns})
SELECT {columns} FROM {source}
WHERE CASE WHEN %(lo)s::timestamptz IS NULL THEN NOT isfinite(event_timestamp)
           ELSE event_timestamp >= %(lo)s AND event_timestamp < %(hi)s END
