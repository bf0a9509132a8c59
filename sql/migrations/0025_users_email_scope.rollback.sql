-- Undo 0025_users_email_scope: back to the spec's global UNIQUE (email) first (refused while an
-- email is used in more than one tenant), then drop the functions.
SELECT pbl_set_users_email_scope('global');

DROP FUNCTION pbl_set_users_email_scope(text);
DROP FUNCTION pbl_users_email_scope();
