-- Row-level security: ENABLED and FORCED (the owner is subject too), policies for every role.
-- With no tenant set, pbl_current_tenant_id() is NULL and no row matches: fail closed.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = pbl_current_tenant_id())
    WITH CHECK (id = pbl_current_tenant_id());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = pbl_current_tenant_id())
    WITH CHECK (tenant_id = pbl_current_tenant_id());

ALTER TABLE applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE applications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON applications
    USING (tenant_id = pbl_current_tenant_id())
    WITH CHECK (tenant_id = pbl_current_tenant_id());

ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON devices
    USING (tenant_id = pbl_current_tenant_id())
    WITH CHECK (tenant_id = pbl_current_tenant_id());

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_logs
    USING (tenant_id = pbl_current_tenant_id())
    WITH CHECK (tenant_id = pbl_current_tenant_id());

-- pbl_purge_expired_audit_logs() runs as pbl_owner across tenants, on expired rows only
CREATE POLICY retention_purge_select ON audit_logs FOR SELECT TO pbl_owner
    USING (retention_until < now());
CREATE POLICY retention_purge_delete ON audit_logs FOR DELETE TO pbl_owner
    USING (retention_until < now());
