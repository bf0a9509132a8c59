-- users: authentication and authorization (spec: Core Tables / users).
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id),

    email varchar(255) NOT NULL,
    -- a PHC-format scrypt or argon2id hash, never a reversible encryption of the password
    password_hash varchar(255) NOT NULL,
    last_login_at timestamptz,

    first_name varchar(100),
    last_name varchar(100),
    phone varchar(20),

    role varchar(50) NOT NULL DEFAULT 'user',
    permissions jsonb,

    is_active boolean NOT NULL DEFAULT TRUE,
    is_verified boolean NOT NULL DEFAULT FALSE,

    mfa_enabled boolean NOT NULL DEFAULT FALSE,
    mfa_secret varchar(255),
    failed_login_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,

    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    -- the spec's UNIQUE email and idx_users_email are one index: a unique constraint by that name
    CONSTRAINT idx_users_email UNIQUE (email),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_password_hash_phc CHECK (password_hash ~ '^\$(argon2id|scrypt)\$'),
    CONSTRAINT users_role_known
        CHECK (role IN ('owner', 'admin', 'manager', 'reviewer', 'analyst', 'auditor', 'user', 'service')),
    CONSTRAINT users_failed_login_attempts_nonnegative CHECK (failed_login_attempts >= 0),
    CONSTRAINT users_mfa_secret_when_enabled CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)
);

CREATE INDEX idx_users_tenant_id ON users (tenant_id, created_at DESC);

CREATE INDEX idx_users_role ON users (tenant_id, role);

CREATE INDEX idx_users_is_active ON users (tenant_id, is_active);

CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION pbl_set_updated_at();

ALTER TABLE users OWNER TO pbl_owner;
