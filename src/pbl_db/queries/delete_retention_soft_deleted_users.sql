-- Delete soft-deleted users by id, rechecking the cutoff.
DELETE FROM users WHERE id = ANY(%(ids)s::uuid[]) AND deleted_at < %(cutoff)s
