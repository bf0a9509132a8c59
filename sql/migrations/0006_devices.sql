-- devices: cloud device provisioning and automation (spec: Core Tables / devices).
CREATE TABLE devices (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_id_external varchar(255) NOT NULL UNIQUE,
    tenant_id uuid NOT NULL REFERENCES tenants (id),

    -- Device information
    device_type varchar(50) NOT NULL,
    model varchar(100),
    os_version varchar(50),
    region varchar(20) NOT NULL,

    -- Status and health
    status varchar(20) NOT NULL DEFAULT 'offline',
    current_task varchar(255),
    last_heartbeat timestamptz,
    last_seen timestamptz,

    -- Capabilities
    capabilities jsonb,
    installed_apps jsonb,

    -- Metrics
    battery_level numeric(5, 2),
    signal_strength integer,
    data_usage_mb numeric(10, 2),
    temperature_celsius numeric(5, 2),
    uptime_seconds integer,

    -- Connectivity
    wifi_connected boolean NOT NULL DEFAULT FALSE,
    cellular_connected boolean NOT NULL DEFAULT FALSE,
    bluetooth_enabled boolean NOT NULL DEFAULT FALSE,
    ip_address inet,
    mac_address varchar(17),

    -- Configuration
    configuration jsonb,
    automation_rules jsonb,

    -- Provisioning information
    provisioned_by varchar(255),
    provisioned_at timestamptz,
    decommissioned_by varchar(255),
    decommissioned_at timestamptz,

    -- Usage statistics
    total_tasks_processed integer NOT NULL DEFAULT 0,
    successful_tasks integer NOT NULL DEFAULT 0,
    failed_tasks integer NOT NULL DEFAULT 0,
    last_task_at timestamptz,

    -- Security
    security_profile varchar(100),
    security_events jsonb,
    compromised boolean NOT NULL DEFAULT FALSE,
    last_security_scan timestamptz,

    -- Maintenance
    last_maintenance timestamptz,
    maintenance_notes text,
    next_maintenance_due timestamptz,

    -- Metadata
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,

    CONSTRAINT devices_status_known CHECK (status IN (
        'online', 'offline', 'busy', 'maintenance', 'error', 'provisioning', 'decommissioned')),
    CONSTRAINT devices_battery_level_range CHECK (battery_level BETWEEN 0 AND 100),
    CONSTRAINT devices_signal_strength_range CHECK (signal_strength BETWEEN -150 AND 100),
    CONSTRAINT devices_data_usage_nonnegative CHECK (data_usage_mb >= 0),
    CONSTRAINT devices_temperature_range CHECK (temperature_celsius BETWEEN -50 AND 150),
    CONSTRAINT devices_uptime_nonnegative CHECK (uptime_seconds >= 0),
    CONSTRAINT devices_mac_address_format
        CHECK (mac_address ~ '^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$'),
    CONSTRAINT devices_task_counts_nonnegative
        CHECK (total_tasks_processed >= 0 AND successful_tasks >= 0 AND failed_tasks >= 0)
);

CREATE INDEX idx_devices_tenant_id ON devices (tenant_id, created_at DESC);

CREATE INDEX idx_devices_status ON devices (tenant_id, status, last_heartbeat);

CREATE INDEX idx_devices_device_type ON devices (tenant_id, device_type);

CREATE INDEX idx_devices_region ON devices (tenant_id, region);

-- stale-device sweeps across tenants (monitoring runs without a tenant filter)
CREATE INDEX idx_devices_last_heartbeat ON devices (last_heartbeat);

CREATE TRIGGER devices_updated_at BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION pbl_set_updated_at();

ALTER TABLE devices OWNER TO pbl_owner;
