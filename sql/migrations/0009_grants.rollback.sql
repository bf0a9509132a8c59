REVOKE ALL ON tenants, users, devices, applications, audit_logs, audit_retention_policies
    FROM application_user, pbl_reporting;
