REVOKE UPDATE (name, domain, settings, feature_flags, billing_email, billing_address)
    ON tenants FROM application_user;

GRANT UPDATE ON tenants TO application_user;

DROP TRIGGER applications_refuse_suspended ON applications;

DROP TRIGGER devices_refuse_suspended ON devices;

DROP TRIGGER users_refuse_suspended ON users;

DROP TRIGGER applications_quota_truncate ON applications;

DROP TRIGGER applications_quota_update ON applications;

DROP TRIGGER applications_quota_delete ON applications;

DROP TRIGGER applications_quota_insert ON applications;

DROP TRIGGER devices_quota_truncate ON devices;

DROP TRIGGER devices_quota_update ON devices;

DROP TRIGGER devices_quota_delete ON devices;

DROP TRIGGER devices_quota_insert ON devices;

DROP TRIGGER users_quota_truncate ON users;

DROP TRIGGER users_quota_update ON users;

DROP TRIGGER users_quota_delete ON users;

DROP TRIGGER users_quota_insert ON users;

DROP TRIGGER tenants_quota_limits ON tenants;

DROP FUNCTION pbl_refuse_suspended_tenant();

DROP FUNCTION pbl_tenant_usage();

DROP FUNCTION pbl_quota_recount(uuid);

DROP FUNCTION pbl_quota_truncated();

DROP FUNCTION pbl_quota_applications_updated();

DROP FUNCTION pbl_quota_applications_deleted();

DROP FUNCTION pbl_quota_applications_inserted();

DROP FUNCTION pbl_quota_seats_updated();

DROP FUNCTION pbl_quota_seats_deleted();

DROP FUNCTION pbl_quota_seats_inserted();

DROP FUNCTION pbl_quota_take(uuid, text, date, bigint);

DROP FUNCTION pbl_quota_take_month(uuid, date, bigint);

DROP FUNCTION pbl_quota_month(timestamptz);

DROP FUNCTION pbl_quota_limits_changed();

DROP TABLE tenant_monthly_usage;

DROP TABLE tenant_usage;
