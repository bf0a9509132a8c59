-- Test user accounts with real argon2id hashes of the documented development passwords
-- (docs/seeds.md). The MFA secret is encrypted with the development seed key.

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('a0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'admin@acme.example',
        '$argon2id$v=19$m=19456,t=2,p=1$7KrqYOqFuyOStBHMHzYtWw$12TvBLWh3X0RoGEfCpaADpg/DiG87gGYv6ab4hyqRrE',
        'Ada', 'Admin', 'admin', true, true,
        'pbl:v1:dev-seed:Wah3Q9dX0nAY2xwfrPdXRB_CPqQKww7Lblt7fRVJcP5AF_qt01nfawNP7Y4')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('a0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'reviewer@acme.example',
        '$argon2id$v=19$m=19456,t=2,p=1$4zO7QlnfHXMhqZXAxNwLWw$BlE97Zi1DMT9Mhsd0mflMNBU6HTCxncICyR1MJOdeiE',
        'Rey', 'Viewer', 'reviewer', true, false,
        NULL)
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('b0000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'admin@globex.example',
        '$argon2id$v=19$m=19456,t=2,p=1$mO2bMgS6NMtjDe8rBdi6nQ$WqksYoK6n6l4H/2VCFkhfYakz8vT3HJi7Ca287yvOb4',
        'Gus', 'Admin', 'admin', true, false,
        NULL)
ON CONFLICT DO NOTHING;
