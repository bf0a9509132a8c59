-- Sample device configurations (docs/seeds.md).

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO devices (id, device_id_external, tenant_id, device_type, model, os_version, region,
                     status, capabilities, configuration, battery_level, signal_strength,
                     wifi_connected, mac_address, provisioned_by, provisioned_at)
VALUES ('d0000000-0000-4000-8000-000000000001', 'acme-android-001', '11111111-1111-4111-8111-111111111111', 'android', 'Pixel 8', '14', 'us-east',
        'online', '{"sms": true, "camera": true, "nfc": true}', '{"heartbeat_seconds": 30, "max_parallel_tasks": 2}', 87.5, -67,
        true, '02:00:5e:10:00:01', 'seed', '2026-01-15 09:00:00+00')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO devices (id, device_id_external, tenant_id, device_type, model, os_version, region,
                     status, capabilities, configuration, battery_level, signal_strength,
                     wifi_connected, mac_address, provisioned_by, provisioned_at)
VALUES ('d0000000-0000-4000-8000-000000000002', 'acme-ios-001', '11111111-1111-4111-8111-111111111111', 'ios', 'iPhone 15', '17.4', 'us-west',
        'offline', '{"sms": true, "camera": true, "nfc": false}', '{"heartbeat_seconds": 30, "max_parallel_tasks": 2}', 87.5, -67,
        true, '02:00:5e:10:00:02', 'seed', '2026-01-15 09:00:00+00')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO devices (id, device_id_external, tenant_id, device_type, model, os_version, region,
                     status, capabilities, configuration, battery_level, signal_strength,
                     wifi_connected, mac_address, provisioned_by, provisioned_at)
VALUES ('d0000000-0000-4000-8000-000000000003', 'globex-android-001', '22222222-2222-4222-8222-222222222222', 'android', 'Galaxy S24', '14', 'eu-central',
        'maintenance', '{"sms": true, "camera": true, "nfc": true}', '{"heartbeat_seconds": 30, "max_parallel_tasks": 2}', 87.5, -67,
        true, '02:00:5e:10:00:03', 'seed', '2026-01-15 09:00:00+00')
ON CONFLICT DO NOTHING;
