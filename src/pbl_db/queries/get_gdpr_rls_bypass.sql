-- Whether the current role sees every tenant's rows (superuser or BYPASSRLS), and may read
-- legal_holds for the details of a hold.
SELECT r.rolsuper OR r.rolbypassrls AS bypass,
       has_table_privilege('legal_holds', 'SELECT') AS reads_holds
FROM pg_roles AS r
WHERE r.rolname = current_user
