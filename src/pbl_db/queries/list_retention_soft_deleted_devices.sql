-- The next batch of purgeable devices (soft-deleted before the cutoff, not named by a held application) after a cursor.
SELECT d.id FROM devices AS d
WHERE d.deleted_at < %(cutoff)s AND d.id > %(after)s
  AND NOT EXISTS (SELECT 1 FROM applications AS ap
                  JOIN legal_holds AS h ON h.application_id = ap.id AND h.released_at IS NULL
                  WHERE ap.duoplus_device_id IN (d.device_id_external, d.id::text))
ORDER BY d.id
LIMIT %(limit)s
