-- Lock a data subject's applications for the erase: a legal hold placed meanwhile waits (its
-- foreign-key check needs a share lock on the application) and is seen by the hold check.
SELECT id FROM applications
WHERE tenant_id = %(tenant_id)s AND id = ANY(%(ids)s)
ORDER BY id
FOR UPDATE
