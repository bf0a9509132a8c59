-- Switch where users' emails are unique; returns the scope it was (migration 0025).
SELECT pbl_set_users_email_scope(%(scope)s) AS was
