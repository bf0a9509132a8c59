-- Rows of others that name the data subject (their email or user id, lower-cased): a reviewer,
-- a device provisioner, a tenant's billing contact, the creator of another user.
SELECT 'applications' AS table_name, id, 'reviewed_by' AS column_name
FROM applications WHERE tenant_id = %(tenant_id)s AND lower(reviewed_by) = ANY(%(refs)s)
UNION ALL
SELECT 'devices', id, 'provisioned_by'
FROM devices WHERE tenant_id = %(tenant_id)s AND lower(provisioned_by) = ANY(%(refs)s)
UNION ALL
SELECT 'devices', id, 'decommissioned_by'
FROM devices WHERE tenant_id = %(tenant_id)s AND lower(decommissioned_by) = ANY(%(refs)s)
UNION ALL
SELECT 'tenants', id, 'billing_email'
FROM tenants WHERE id = %(tenant_id)s AND lower(billing_email) = ANY(%(refs)s)
UNION ALL
SELECT 'users', id, 'created_by'
FROM users WHERE tenant_id = %(tenant_id)s AND created_by::text = ANY(%(refs)s)
ORDER BY 1, 3, 2
