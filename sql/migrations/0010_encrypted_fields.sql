-- Encrypted fields hold pbl tokens, never plaintext (docs/crypto.md): text columns a token
-- pbl:vN:<key id>:<base64url>, PII JSONB columns exactly {"pbl_encrypted": "<token>"}.
-- Added NOT VALID (a brief lock, no scan); 0011 validates existing rows in its own transaction.
ALTER TABLE applications
    ADD CONSTRAINT applications_ssn_encrypted_token
        CHECK (ssn_encrypted ~ '^pbl:v[0-9]+:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]+$') NOT VALID,
    ADD CONSTRAINT applications_pii_json_encrypted CHECK (
        (address IS NULL
         OR (address ? 'pbl_encrypted' AND address - 'pbl_encrypted' = '{}'::jsonb
             AND jsonb_typeof(address -> 'pbl_encrypted') = 'string'))
        AND (identity_verification IS NULL
             OR (identity_verification ? 'pbl_encrypted'
                 AND identity_verification - 'pbl_encrypted' = '{}'::jsonb
                 AND jsonb_typeof(identity_verification -> 'pbl_encrypted') = 'string'))
        AND (credit_report IS NULL
             OR (credit_report ? 'pbl_encrypted' AND credit_report - 'pbl_encrypted' = '{}'::jsonb
                 AND jsonb_typeof(credit_report -> 'pbl_encrypted') = 'string'))
        AND (kyc_documents IS NULL
             OR (kyc_documents ? 'pbl_encrypted' AND kyc_documents - 'pbl_encrypted' = '{}'::jsonb
                 AND jsonb_typeof(kyc_documents -> 'pbl_encrypted') = 'string'))
    ) NOT VALID;

ALTER TABLE users
    ADD CONSTRAINT users_mfa_secret_token
        CHECK (mfa_secret ~ '^pbl:v[0-9]+:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]+$') NOT VALID;
