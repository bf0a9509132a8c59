-- Devices soft-deleted before the cutoff, and those an application under legal hold names.
SELECT count(*) AS past_grace,
       count(*) FILTER (WHERE s.held) AS held,
       0 AS referenced
FROM (
    SELECT EXISTS (SELECT 1 FROM applications AS ap
                   JOIN legal_holds AS h ON h.application_id = ap.id AND h.released_at IS NULL
                   WHERE ap.duoplus_device_id IN (d.device_id_external, d.id::text)) AS held
    FROM devices AS d
    WHERE d.deleted_at < %(cutoff)s
) AS s
