-- Closed periods (UTC) per tenant that hold chained rows not sealed yet, oldest first.
SELECT tenant_id, period_start,
       (period_start AT TIME ZONE 'UTC' + ('1 ' || %(period)s)::interval) AT TIME ZONE 'UTC'
           AS period_end,
       count(*) AS rows
FROM (
    SELECT tenant_id, date_trunc(%(period)s, event_timestamp, 'UTC') AS period_start
    FROM audit_logs
    WHERE block_number IS NULL AND chain_seq IS NOT NULL AND event_timestamp < %(cutoff)s
) AS unsealed
GROUP BY tenant_id, period_start
ORDER BY period_start, tenant_id
