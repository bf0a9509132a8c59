-- The tenant pbl files its own compliance events under (inactive, made on first use).
INSERT INTO tenants (id, name, slug, is_active, subscription_plan, settings)
VALUES (%(id)s, 'pbl (system)', %(slug)s, false, 'basic', jsonb_build_object('system', true))
ON CONFLICT DO NOTHING
