-- Test user accounts with real argon2id hashes of the documented development passwords
-- (docs/seeds.md). The MFA secret is encrypted with the development seed key.

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('a0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'admin@acme.example',
        '$argon2id$v=19$m=19456,t=2,p=1$AoaNzFABPS3WbwzyUUSw3A$EYJOfJwO/7ei6mUjgJCql0e61TzS2NtPOHdBU7iAcL4',
        'Ada', 'Admin', 'admin', true, true,
        'pbl:v1:dev-seed:vRg_5b_lQBz6djO7oLMzWyZzcG_k_OMUyFnBuz8OEhmiG36hsS3vxZ7uVJo')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('a0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'reviewer@acme.example',
        '$argon2id$v=19$m=19456,t=2,p=1$94g1BQxcw/KUBohzt/3NlQ$TmzzscE9tJxFV+g1+nzbcrHtxOw8PX/DxtdNjcPCfQ8',
        'Rey', 'Viewer', 'reviewer', true, false,
        NULL)
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO users (id, tenant_id, email, password_hash, first_name, last_name, role,
                   is_verified, mfa_enabled, mfa_secret)
VALUES ('b0000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'admin@globex.example',
        '$argon2id$v=19$m=19456,t=2,p=1$pvk0vi4EmDSgEL3ZGg5Xaw$pM/kOf66nNegiiUXoobnhYgXTeveh8QlrY3MCmcPL3s',
        'Gus', 'Admin', 'admin', true, false,
        NULL)
ON CONFLICT DO NOTHING;
