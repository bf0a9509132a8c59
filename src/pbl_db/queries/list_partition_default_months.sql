-- Rows of the default partition per UTC month (NULL month: an infinite event_timestamp).
SELECT CASE WHEN isfinite(event_timestamp)
            THEN date_trunc('month', event_timestamp AT TIME ZONE 'UTC')::date END AS month,
       count(*) AS rows
FROM {partition}
GROUP BY 1
ORDER BY 1 NULLS LAST
