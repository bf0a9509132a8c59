-- Where users' emails are unique: global (the spec's) or tenant (migration 0025).
SELECT pbl_users_email_scope() AS scope
