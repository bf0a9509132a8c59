-- Tenants (one by id or slug, or all) with what they use of each quota this UTC month.
SELECT t.id, t.slug, t.name, t.domain, t.subscription_plan AS plan, t.is_active, t.billing_email,
       t.max_users, t.max_devices, t.max_applications_per_month,
       coalesce(u.users, 0) AS users, coalesce(u.devices, 0) AS devices,
       coalesce(m.applications, 0) AS applications_this_month,
       t.created_at, t.updated_at, t.deleted_at
FROM tenants AS t
LEFT JOIN tenant_usage AS u ON u.tenant_id = t.id
LEFT JOIN LATERAL (
    SELECT sum(x.applications) AS applications FROM tenant_monthly_usage AS x
    WHERE x.tenant_id = t.id AND x.month = pbl_quota_month(now())
) AS m ON true
WHERE (%(id)s::uuid IS NULL OR t.id = %(id)s::uuid)
  AND (%(slug)s::text IS NULL OR t.slug = %(slug)s::text)
  AND (%(deleted)s OR t.deleted_at IS NULL)
ORDER BY t.slug
