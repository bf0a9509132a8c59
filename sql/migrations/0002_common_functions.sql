-- Functions every table uses: the tenant of the current transaction, and updated_at upkeep.

-- NULL when app.current_tenant_id is unset or empty: policies comparing with it match no row,
-- so a session without a tenant sees nothing and gets no error (fail closed). Inlinable SQL (no
-- SET clause), so policies using it can still use indexes; names are schema-qualified because
-- it is parsed with the caller's search_path.
CREATE FUNCTION pbl_current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(pg_catalog.current_setting('app.current_tenant_id', true), '')::pg_catalog.uuid $$;

CREATE FUNCTION pbl_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

ALTER FUNCTION pbl_current_tenant_id() OWNER TO pbl_owner;

ALTER FUNCTION pbl_set_updated_at() OWNER TO pbl_owner;
