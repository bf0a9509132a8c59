-- The spec's Aggregated Statistics of one tenant since a time, with string literals (the spec's
-- "approved" is an identifier in PostgreSQL), soft-deleted applications left out, and the epoch
-- read in the same snapshot so a cached copy can be checked later.
SELECT count(*) AS total,
       count(*) FILTER (WHERE decision = 'approved') AS approved,
       count(*) FILTER (WHERE decision = 'declined') AS declined,
       avg(risk_score) AS avg_risk_score,
       pbl_application_stats_epoch() AS epoch,
       statement_timestamp() AS computed_at
FROM applications
WHERE tenant_id = %(tenant_id)s
  AND created_at >= %(since)s
  AND deleted_at IS NULL
