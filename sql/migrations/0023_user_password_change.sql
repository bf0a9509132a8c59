-- pbl users reset-password sets a temporary password and this flag: the services send the user
-- to a password change at the next login, and clear the flag when they store the new hash
-- (docs/tenants.md, "Users").
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;

GRANT SELECT (password_change_required) ON users TO pbl_reporting;
