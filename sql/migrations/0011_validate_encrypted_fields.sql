-- Check existing rows against 0010's constraints. VALIDATE takes SHARE UPDATE EXCLUSIVE: reads
-- and writes go on while it scans.
ALTER TABLE applications VALIDATE CONSTRAINT applications_ssn_encrypted_token;

ALTER TABLE applications VALIDATE CONSTRAINT applications_pii_json_encrypted;

ALTER TABLE users VALIDATE CONSTRAINT users_mfa_secret_token;
