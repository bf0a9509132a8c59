-- tenants: multi-tenant configuration and isolation (spec: Core Tables / tenants).
CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),

    name varchar(255) NOT NULL,
    slug varchar(100) NOT NULL UNIQUE,
    domain varchar(255),

    settings jsonb,
    feature_flags jsonb,

    max_applications_per_month integer NOT NULL DEFAULT 10000,
    max_devices integer NOT NULL DEFAULT 100,
    max_users integer NOT NULL DEFAULT 50,

    is_active boolean NOT NULL DEFAULT TRUE,
    subscription_plan varchar(50) NOT NULL DEFAULT 'basic',

    billing_email varchar(255),
    billing_address jsonb,

    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
    CONSTRAINT tenants_quotas_nonnegative
        CHECK (max_applications_per_month >= 0 AND max_devices >= 0 AND max_users >= 0),
    CONSTRAINT tenants_subscription_plan_known
        CHECK (subscription_plan IN ('free', 'basic', 'professional', 'enterprise')),
    CONSTRAINT tenants_settings_object CHECK (settings IS NULL OR jsonb_typeof(settings) = 'object'),
    CONSTRAINT tenants_feature_flags_object
        CHECK (feature_flags IS NULL OR jsonb_typeof(feature_flags) = 'object')
);

CREATE TRIGGER tenants_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION pbl_set_updated_at();

ALTER TABLE tenants OWNER TO pbl_owner;
