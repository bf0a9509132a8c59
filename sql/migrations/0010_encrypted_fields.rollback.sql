ALTER TABLE users DROP CONSTRAINT users_mfa_secret_token;

ALTER TABLE applications DROP CONSTRAINT applications_pii_json_encrypted;

ALTER TABLE applications DROP CONSTRAINT applications_ssn_encrypted_token;
