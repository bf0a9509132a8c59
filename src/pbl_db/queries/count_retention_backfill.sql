-- Rows per policy whose retention_until is missing or below what their policy requires.
SELECT CASE WHEN p.regulation IS NULL THEN 'DEFAULT' ELSE p.regulation END AS regulation,
       count(*) AS rows
FROM audit_logs AS a
LEFT JOIN audit_retention_policies AS p ON p.regulation = upper(a.regulation)
WHERE a.retention_until IS NULL
   OR a.retention_until < a.created_at + coalesce(
        p.retention,
        (SELECT retention FROM audit_retention_policies WHERE regulation = 'DEFAULT'))
GROUP BY 1
ORDER BY 1
