-- The tenant named by id or slug (the stats and gdpr --tenant option); RLS shows a role that is
-- subject to it only the tenant set in app.current_tenant_id.
SELECT id, slug, name
FROM tenants
WHERE id = %(id)s::uuid OR slug = %(slug)s::text
