-- Demo application data. SSNs and address JSON are encrypted with the development seed
-- key (docs/seeds.md lists the plaintext SSNs); each value is bound to its row and tenant.

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Jane Q. Applicant',
        'pbl:v1:dev-seed:o_A2aPAZ_RzHz1wy1_NtZldYnG-vmW4Ia-ffCf3atdoVz5gC747R',
        85000, 'employed', 15000, 742, 'applicant1@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:vuZqi8JXRH7OZs0YrgtV2DgiiRO9sCgQnxVjEKVT3kS8RH9mrKNd2pjZTGDNI0RzD3A98IgXsQSKUAHskSc3qqg300Cjc89-0xRNTA0Zlgy0rm1awd_2i1oNk4TZlA8NhrHisuKpejBMaG0rSAor"}',
        180, 2.50, 97.00, 'approved', 91.00, 'risk-v3', 'submitted')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '11111111-1111-4111-8111-111111111111', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'John R. Borrower',
        'pbl:v1:dev-seed:JxH0mLv4UVJx9NGElEHG4K2d3zr6Ju_nwwvomRQJxYLPci109uNp',
        42000, 'self_employed', 8000, 655, 'applicant2@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:1p0VUrAqRgcr2Xocjnl8e77-XwOJwByJ-RpruWE-7KP5KwoKjIwmGbAa2CT7gXjPZ10N3pTA0lJ6_6W_KTfT8lS7B_MSUDA2WN6bQb_lAjO9HjLm7bqIHhSndHXBnZQ54wdttYFAWzZxd1MjRy_2"}',
        540, 2.50, 97.00, 'manual_review', 91.00, 'risk-v3', 'manual_review')
ON CONFLICT DO NOTHING;

SELECT set_config('app.current_tenant_id', '22222222-2222-4222-8222-222222222222', true);
INSERT INTO applications (id, tenant_id, full_legal_name, ssn_encrypted, annual_income,
                          employment_status, requested_limit, credit_score, email, address,
                          risk_score, fraud_probability, identity_match, decision, confidence,
                          model_version, status)
VALUES ('c0000000-0000-4000-8000-000000000003', '22222222-2222-4222-8222-222222222222', 'Maria S. Example',
        'pbl:v1:dev-seed:_iW7czeP2OckpoznlvQBDPHnD3cfq7b4biNU56_53pqvaR04IsKC',
        61000, 'employed', 5000, 598, 'applicant3@example.test',
        '{"pbl_encrypted": "pbl:v1:dev-seed:zVU_wbHhEWEJU43D6iGGlIs8jwZLzzR5wgKK4zjBwS95BXCiZLdm_yy5jJSi88HAJAaPij_MJUBb34KzqGVopfJRfeFIZo0bcVKmVULpRZeA2m5u8gucaEEydod8JbznP0eCsCOzWH95CvPykWWE"}',
        710, 2.50, 97.00, 'declined', 91.00, 'risk-v3', 'declined')
ON CONFLICT DO NOTHING;
