-- Demo application data. SSNs and address JSON are encrypted with the development seed
-- key (docs/seeds.md lists the plaintext SSNs); each value is bound to its row and tenant.

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Jane Q. Applicant',
        'pbl:v1:dev-seed:LndygeT0DP652E-__yRgIFeGXIxT2a_xxLwjbMy--0EYpwPqvjDd',
        85000, 'employed', 15000, 742, 'applicant1@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:YnTSBxb4IMqehbJC3VTMSUZCxXOBjBNz-m37BIFzMFcUA5kQiW-JHldL7U90jzohCp7wJIAN-kYbO_Hf4zzbhL1g2coDVSW9t-dRV5tEnspHDKUF3xfCY46dBF1Jt-LhA5AhW2567Bqs8MNf1bUg"}',
        180, 2.50, 97.00, 'approved', 91.00, 'risk-v3', 'submitted')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'John R. Borrower',
        'pbl:v1:dev-seed:gOXeTccC-7FAVA8HJzwXDVYqsOwYWFJUHDyJ8rp0hlYHz02M0TZ0',
        42000, 'self_employed', 8000, 655, 'applicant2@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:XIy3jyN6NAqwgVONOl2tPCtsQWjzvCRbHHqbpNGghOyCtFTf6ZNc3piEiTRvcKBEgMLkGubFerIGrDHjpltCjqpizct9eb_pBm7Xhqg6mzpGwFbhG3cZPPAAqvfN5RzgFYweqbLpSdMHb4XEq8wb"}',
        540, 2.50, 97.00, 'manual_review', 91.00, 'risk-v3', 'manual_review')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000003', '22222222-2222-4222-8222-222222222222', 'Maria S. Example',
        'pbl:v1:dev-seed:nfIE921Xy3lv2dnKUpnlU00UpchfA32n9AOYaJBuwzHfHNONgzq1',
        61000, 'employed', 5000, 598, 'applicant3@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:Y-aHiYoxbm0edSZYmfI0VhM7mJIkg-q2XNCi3LKH0plRRdbhU9PDg-7MqwF_fdSzyJDmj50fWoTm5oIyqQYxMXYikwQuT5bS34YY_3UBECIw-_hO7E9MjFCGkXZh4J-ghSnPAPltTFJFJPwqbYvW"}',
        710, 2.50, 97.00, 'declined', 91.00, 'risk-v3', 'declined')
ON CONFLICT DO NOTHING;
