-- applications: loan applications and their risk assessment (spec: Core Tables / applications).
CREATE TABLE applications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    stripe_account_id varchar(255),
    plaid_verification_id varchar(255),
    duoplus_device_id varchar(255),
    blockchain_tx_hash varchar(255),

    -- Applicant information
    full_legal_name varchar(255) NOT NULL,
    ssn_encrypted text NOT NULL,
    annual_income numeric(12, 2) NOT NULL,
    employment_status varchar(20) NOT NULL,
    requested_limit numeric(12, 2),
    credit_score integer,

    -- Contact information
    email varchar(255),
    phone varchar(20),
    address jsonb,

    -- Risk assessment
    risk_score integer,
    fraud_probability numeric(5, 2),
    identity_match numeric(5, 2),
    decision varchar(20),
    confidence numeric(5, 2),

    -- Processing information
    processing_time_ms integer,
    model_version varchar(50),
    shap_explanation jsonb,
    risk_factors jsonb,

    -- Verification status
    identity_verification jsonb,
    credit_report jsonb,
    kyc_documents jsonb,

    -- Manual review
    reviewed_by varchar(255),
    review_reason text,
    reviewed_at timestamptz,

    -- Audit trail
    ip_address inet,
    user_agent text,
    device_fingerprint jsonb,

    -- Status and timestamps
    status varchar(20) NOT NULL DEFAULT 'created',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    -- audit_logs refers to (id, tenant_id): an audit row cannot name another tenant's application
    CONSTRAINT applications_id_tenant_id_key UNIQUE (id, tenant_id),
    CONSTRAINT applications_ssn_encrypted_nonempty CHECK (ssn_encrypted <> ''),
    CONSTRAINT applications_annual_income_nonnegative CHECK (annual_income >= 0),
    CONSTRAINT applications_requested_limit_nonnegative CHECK (requested_limit >= 0),
    CONSTRAINT applications_employment_status_known CHECK (employment_status IN (
        'employed', 'self_employed', 'unemployed', 'retired', 'student', 'other')),
    CONSTRAINT applications_credit_score_range CHECK (credit_score BETWEEN 300 AND 850),
    CONSTRAINT applications_risk_score_range CHECK (risk_score BETWEEN 0 AND 1000),
    CONSTRAINT applications_fraud_probability_range CHECK (fraud_probability BETWEEN 0 AND 100),
    CONSTRAINT applications_identity_match_range CHECK (identity_match BETWEEN 0 AND 100),
    CONSTRAINT applications_confidence_range CHECK (confidence BETWEEN 0 AND 100),
    CONSTRAINT applications_decision_known
        CHECK (decision IN ('approved', 'declined', 'manual_review')),
    CONSTRAINT applications_processing_time_nonnegative CHECK (processing_time_ms >= 0),
    CONSTRAINT applications_status_known CHECK (status IN (
        'created', 'submitted', 'processing', 'manual_review', 'approved', 'declined',
        'withdrawn', 'error'))
);

-- A tenant's newest applications, a page at a time (OFFSET or keyset on (created_at, id)), and
-- its stats since a date: decision and risk_score ride along for index-only scans.
CREATE INDEX idx_applications_tenant_id
    ON applications (tenant_id, created_at DESC, id DESC) INCLUDE (decision, risk_score);

CREATE INDEX idx_applications_status ON applications (tenant_id, status, created_at DESC);

CREATE INDEX idx_applications_decision ON applications (tenant_id, decision, created_at DESC);

-- Cross-tenant time ranges (reporting, retention) on an append-mostly table: BRIN is a tiny
-- fraction of a btree's size, and leaves a tenant's ordered pages to idx_applications_tenant_id.
CREATE INDEX idx_applications_created_at ON applications USING brin (created_at);

CREATE INDEX idx_applications_risk_score ON applications (tenant_id, risk_score DESC);

CREATE INDEX idx_applications_stripe_account_id ON applications (stripe_account_id)
    WHERE stripe_account_id IS NOT NULL;

CREATE TRIGGER applications_updated_at BEFORE UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION pbl_set_updated_at();

ALTER TABLE applications OWNER TO pbl_owner;
