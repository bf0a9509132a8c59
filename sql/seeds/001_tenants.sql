-- Default tenant configurations: two demo tenants (docs/seeds.md).
-- Each tenant's rows are written with app.current_tenant_id set to it, so seeding works
-- under forced row-level security for the owner role too.

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO tenants (id, name, slug, domain, settings, feature_flags, subscription_plan, billing_email)
VALUES ('11111111-1111-4111-8111-111111111111', 'Acme Lending', 'acme', 'acme.example', '{"currency": "USD", "decision_model": "risk-v3", "manual_review_threshold": 650}',
        '{"instant_decisions": true, "device_automation": true}', 'enterprise', 'billing@acme.example')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO tenants (id, name, slug, domain, settings, feature_flags, subscription_plan, billing_email)
VALUES ('22222222-2222-4222-8222-222222222222', 'Globex Credit', 'globex', 'globex.example', '{"currency": "USD", "decision_model": "risk-v3", "manual_review_threshold": 650}',
        '{"instant_decisions": false, "device_automation": true}', 'basic', 'billing@globex.example')
ON CONFLICT DO NOTHING;
