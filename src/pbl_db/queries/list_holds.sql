-- Legal holds, newest first: active ones only unless %(all)s.
SELECT id, tenant_id, application_id, reason, placed_at, placed_by, released_at, released_by,
       release_reason
FROM legal_holds
WHERE %(all)s OR released_at IS NULL
ORDER BY placed_at DESC, id DESC
