-- The active legal holds on these applications, to name them in a refusal.
SELECT id, application_id, placed_at, placed_by, reason
FROM legal_holds
WHERE application_id = ANY(%(ids)s) AND released_at IS NULL
ORDER BY placed_at, id
