-- What each role may do. application_user: no DDL, no TRUNCATE, no DELETE of applications
-- (soft delete via deleted_at) or audit rows, UPDATE of audit lifecycle columns only.
-- pbl_reporting: read-only, without SSNs, password hashes or MFA secrets.
GRANT SELECT, UPDATE ON tenants TO application_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, devices TO application_user;
GRANT SELECT, INSERT, UPDATE ON applications TO application_user;
-- created_at and updated_at are not the services' to set: retention counts from created_at
GRANT SELECT ON audit_logs TO application_user;
GRANT INSERT (
    id, application_id, tenant_id, blockchain_tx_hash, block_number, merkle_root, block_timestamp,
    event_type, event_category, event_description, decision, risk_score, confidence, user_id,
    user_role, ip_address, user_agent, service_name, service_version, environment, event_data,
    previous_state, new_state, metadata, compliance_requirement, regulation, audit_required,
    retention_until, verification_hash, signature, signing_key_id, status, verification_notes,
    verified_at, verified_by, event_timestamp, deleted_at
) ON audit_logs TO application_user;
GRANT UPDATE (status, verification_notes, verified_at, verified_by, retention_until)
    ON audit_logs TO application_user;
GRANT SELECT ON audit_retention_policies TO application_user, pbl_reporting;

GRANT SELECT ON tenants, devices, audit_logs TO pbl_reporting;
GRANT SELECT (
    id, tenant_id, stripe_account_id, plaid_verification_id, duoplus_device_id,
    blockchain_tx_hash, full_legal_name, annual_income, employment_status, requested_limit,
    credit_score, email, phone, address, risk_score, fraud_probability, identity_match, decision,
    confidence, processing_time_ms, model_version, shap_explanation, risk_factors,
    identity_verification, credit_report, kyc_documents, reviewed_by, review_reason, reviewed_at,
    ip_address, user_agent, device_fingerprint, status, created_at, updated_at, deleted_at
) ON applications TO pbl_reporting;
GRANT SELECT (
    id, tenant_id, email, last_login_at, first_name, last_name, phone, role, permissions,
    is_active, is_verified, mfa_enabled, failed_login_attempts, locked_until, created_by,
    created_at, updated_at, deleted_at
) ON users TO pbl_reporting;
