-- The regulations audit_retention_policies has a policy for (DEFAULT among them).
SELECT regulation FROM audit_retention_policies ORDER BY regulation
