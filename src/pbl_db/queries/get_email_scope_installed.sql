-- Whether migration 0025 (the users email scope switch) is applied.
SELECT to_regproc('public.pbl_users_email_scope') IS NOT NULL
