-- The application a legal hold names (its tenant), and its active hold if any.
SELECT a.id, a.tenant_id, h.id AS hold_id
FROM applications AS a
LEFT JOIN legal_holds AS h ON h.application_id = a.id AND h.released_at IS NULL
WHERE a.id = %(application_id)s
