-- Undo 0001_roles. A role is dropped only when nothing else on the server uses it: no object,
-- grant or policy in any database (pg_shdepend is cluster-wide) and no member but the current
-- user. So rolling back one database never breaks another database's grants.
REVOKE USAGE ON SCHEMA public FROM application_user, pbl_reporting;

REVOKE USAGE, CREATE ON SCHEMA public FROM pbl_owner;

DO $$
DECLARE
    doomed text;
    role_oid oid;
BEGIN
    FOREACH doomed IN ARRAY ARRAY['pbl_reporting', 'application_user', 'pbl_owner'] LOOP
        SELECT oid INTO role_oid FROM pg_catalog.pg_roles WHERE rolname = doomed;
        CONTINUE WHEN role_oid IS NULL;
        CONTINUE WHEN EXISTS (
            SELECT FROM pg_catalog.pg_shdepend
            WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND refobjid = role_oid
        );
        CONTINUE WHEN EXISTS (
            SELECT FROM pg_catalog.pg_auth_members AS m
            WHERE m.roleid = role_oid
              AND m.member <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
        );
        CONTINUE WHEN EXISTS (
            SELECT FROM pg_catalog.pg_auth_members AS m WHERE m.member = role_oid
        );
        EXECUTE format('DROP ROLE %I', doomed);
    END LOOP;
END
$$;
