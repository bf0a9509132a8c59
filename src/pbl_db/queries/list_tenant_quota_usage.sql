-- Every live tenant's quotas with what is used this UTC month, fullest first (health check).
SELECT t.slug, q.quota, q.used, q.quota_limit,
       CASE WHEN q.quota_limit > 0 THEN 100.0 * q.used / q.quota_limit
            WHEN q.used > 0 THEN 100.0 ELSE 0.0 END AS percent
FROM tenants AS t
LEFT JOIN tenant_usage AS u ON u.tenant_id = t.id
LEFT JOIN LATERAL (
    SELECT sum(x.applications) AS applications FROM tenant_monthly_usage AS x
    WHERE x.tenant_id = t.id AND x.month = pbl_quota_month(now())
) AS m ON true
CROSS JOIN LATERAL (VALUES
    ('max_users', coalesce(u.users, 0), t.max_users::bigint),
    ('max_devices', coalesce(u.devices, 0), t.max_devices::bigint),
    ('max_applications_per_month', coalesce(m.applications, 0),
     t.max_applications_per_month::bigint)
) AS q (quota, used, quota_limit)
WHERE t.deleted_at IS NULL
ORDER BY percent DESC, t.slug, q.quota
