-- Changes the fields given (NULL: keep) of one tenant.
UPDATE tenants
SET name = coalesce(%(name)s, name),
    domain = coalesce(%(domain)s, domain),
    subscription_plan = coalesce(%(plan)s, subscription_plan),
    billing_email = coalesce(%(billing_email)s, billing_email),
    max_users = coalesce(%(max_users)s, max_users),
    max_devices = coalesce(%(max_devices)s, max_devices),
    max_applications_per_month = coalesce(%(max_applications_per_month)s, max_applications_per_month),
    is_active = coalesce(%(is_active)s, is_active)
WHERE id = %(id)s
