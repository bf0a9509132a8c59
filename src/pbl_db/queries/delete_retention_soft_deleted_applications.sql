-- Delete soft-deleted applications by id, rechecking the cutoff and the hold.
DELETE FROM applications
WHERE id = ANY(%(ids)s::uuid[]) AND deleted_at < %(cutoff)s AND NOT pbl_application_on_hold(id)
