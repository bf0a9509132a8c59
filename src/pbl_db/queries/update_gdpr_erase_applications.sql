-- GDPR erase of applications (docs/gdpr.md): soft delete (an earlier deleted_at is kept), the
-- name replaced by 'erased:<id>', contact, network and external identifiers, free-text review
-- and credit-bureau score removed, encrypted PII JSON removed, the SSN token replaced by a
-- sealed empty value. Rows already erased are left alone.
UPDATE applications AS a
SET full_legal_name = 'erased:' || a.id::text,
    ssn_encrypted = t.ssn_token,
    email = NULL,
    phone = NULL,
    address = NULL,
    identity_verification = NULL,
    credit_report = NULL,
    kyc_documents = NULL,
    credit_score = NULL,
    stripe_account_id = NULL,
    plaid_verification_id = NULL,
    review_reason = NULL,
    ip_address = NULL,
    user_agent = NULL,
    device_fingerprint = NULL,
    deleted_at = coalesce(a.deleted_at, now())
FROM unnest(%(ids)s::uuid[], %(ssn_tokens)s::text[]) AS t(id, ssn_token)
WHERE a.tenant_id = %(tenant_id)s
  AND a.id = t.id
  AND a.full_legal_name IS DISTINCT FROM 'erased:' || a.id::text
RETURNING a.id
