-- The next batch of purgeable users (soft-deleted before the cutoff) after a cursor.
SELECT u.id FROM users AS u
WHERE u.deleted_at < %(cutoff)s AND u.id > %(after)s
ORDER BY u.id
LIMIT %(limit)s
