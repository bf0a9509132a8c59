-- How many emails are used by users of more than one tenant (needs RLS bypass to see them all).
SELECT count(*) FROM (
    SELECT email FROM users GROUP BY email HAVING count(DISTINCT tenant_id) > 1
) AS shared
