-- Under the partition's lock: its rows, and those that keep it from going whole (unexpired or held).
SELECT count(*) AS rows,
       count(*) FILTER (WHERE retention_until IS NULL OR retention_until >= now()
                          OR application_id = ANY(%(held)s::uuid[])) AS blocking
FROM {partition}
