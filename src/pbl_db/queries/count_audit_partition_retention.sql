-- Exact rows of one audit_logs partition by retention policy: total, expired, under hold, newest retention_until.
SELECT CASE WHEN upper(regulation) = ANY(%(policies)s::text[]) THEN upper(regulation)
            ELSE 'DEFAULT' END AS regulation,
       count(*) AS rows,
       count(*) FILTER (WHERE retention_until < now()) AS expired,
       count(*) FILTER (WHERE application_id = ANY(%(held)s::uuid[])) AS held,
       count(*) FILTER (WHERE retention_until < now()
                          AND application_id = ANY(%(held)s::uuid[])) AS expired_held,
       max(retention_until) AS newest_retention_until,
       min(retention_until) FILTER (WHERE retention_until < now()) AS oldest_expired
FROM {partition}
GROUP BY 1
ORDER BY 1
