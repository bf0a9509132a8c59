-- The next batch of purgeable applications (soft-deleted before the cutoff, no hold, unreferenced) after a cursor.
SELECT a.id
FROM applications AS a
WHERE a.deleted_at < %(cutoff)s
  AND a.id > %(after)s
  AND NOT pbl_application_on_hold(a.id)
  AND NOT EXISTS (SELECT 1 FROM legal_holds AS h WHERE h.application_id = a.id)
  AND NOT EXISTS (SELECT 1 FROM audit_logs AS l WHERE l.application_id = a.id)
ORDER BY a.id
LIMIT %(limit)s
