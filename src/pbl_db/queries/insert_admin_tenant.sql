-- A new tenant; quotas left NULL take the table's defaults.
INSERT INTO tenants (name, slug, domain, subscription_plan, billing_email)
VALUES (%(name)s, %(slug)s, %(domain)s, coalesce(%(plan)s, 'basic'), %(billing_email)s)
RETURNING id
