-- Roles the schema is built for. Roles are cluster-wide: each is created only when missing, so
-- a second database migrated on the same server reuses them.
--   pbl_owner         owns every pbl object; the role that runs migrations is made a member
--   application_user  what the services use: NOBYPASSRLS, no DDL, no TRUNCATE, no audit edits
--   pbl_reporting     read-only, secrets excluded, row-level security applies
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['pbl_owner', 'application_user', 'pbl_reporting'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = wanted) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', wanted);
        ELSIF wanted <> 'pbl_owner'
              AND EXISTS (SELECT FROM pg_catalog.pg_roles
                          WHERE rolname = wanted AND (rolsuper OR rolbypassrls)) THEN
            RAISE EXCEPTION 'role % exists with SUPERUSER or BYPASSRLS: row-level security would not isolate tenants', wanted
                USING HINT = format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS, then migrate again', wanted);
        END IF;
    END LOOP;
END
$$;

-- The migrating role acts as pbl_owner (ALTER ... OWNER TO pbl_owner). From PostgreSQL 16 a
-- non-superuser needs ADMIN OPTION on pbl_owner to grant it, so a second migrating role must be
-- granted it by a superuser first.
DO $$
BEGIN
    IF NOT pg_catalog.pg_has_role(current_user, 'pbl_owner', 'MEMBER') THEN
        EXECUTE format('GRANT pbl_owner TO %I', current_user);
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role % may not grant itself pbl_owner', current_user
        USING HINT = format('as a superuser: GRANT pbl_owner TO %I', current_user);
END
$$;

-- PostgreSQL 13 and 14 let every role CREATE in schema public (15+ does not). Nobody but
-- pbl_owner needs to: this closes it for good (the rollback leaves it closed).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE, CREATE ON SCHEMA public TO pbl_owner;

GRANT USAGE ON SCHEMA public TO application_user, pbl_reporting;
