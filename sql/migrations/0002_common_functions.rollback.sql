DROP FUNCTION pbl_set_updated_at();

DROP FUNCTION pbl_current_tenant_id();
