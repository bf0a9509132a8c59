-- Whether the current role sees every tenant's rows (superuser or BYPASSRLS).
SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user
