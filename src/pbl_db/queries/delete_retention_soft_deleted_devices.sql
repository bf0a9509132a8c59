-- Delete soft-deleted devices by id, rechecking the cutoff and the hold.
DELETE FROM devices AS d
WHERE d.id = ANY(%(ids)s::uuid[]) AND d.deleted_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM applications AS ap
                  JOIN legal_holds AS h ON h.application_id = ap.id AND h.released_at IS NULL
                  WHERE ap.duoplus_device_id IN (d.device_id_external, d.id::text))
