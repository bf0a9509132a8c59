-- The retention policies (audit_retention_policies): regulation, how long, why.
SELECT regulation, retention::text AS retention, extract(epoch FROM retention) AS seconds, description
FROM audit_retention_policies
ORDER BY regulation = 'DEFAULT', regulation
