-- Users soft-deleted before the cutoff (nothing holds or references a user).
SELECT count(*) AS past_grace, 0 AS held, 0 AS referenced
FROM users WHERE deleted_at < %(cutoff)s
