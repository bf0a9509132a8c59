-- The tenants a data subject's rows belong to, for the export header.
SELECT id, slug, name FROM tenants WHERE id = ANY(%(ids)s) ORDER BY slug
