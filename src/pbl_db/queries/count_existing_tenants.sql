-- How many of these tenant ids exist already.
SELECT count(*) FROM tenants WHERE id = ANY(%(ids)s)
