-- Applications soft-deleted before the cutoff: all, under an active legal hold, still referenced
-- (by a hold record, or by audit rows; when retained_only, by rows retention keeps only).
SELECT count(*) AS past_grace,
       count(*) FILTER (WHERE s.held) AS held,
       count(*) FILTER (WHERE NOT s.held AND s.referenced) AS referenced
FROM (
    SELECT pbl_application_on_hold(a.id) AS held,
           EXISTS (SELECT 1 FROM legal_holds AS h WHERE h.application_id = a.id)
           OR EXISTS (SELECT 1 FROM audit_logs AS l
                      WHERE l.application_id = a.id
                        AND (NOT %(retained_only)s OR l.retention_until IS NULL
                             OR l.retention_until >= now()))
               AS referenced
    FROM applications AS a
    WHERE a.deleted_at < %(cutoff)s
) AS s
