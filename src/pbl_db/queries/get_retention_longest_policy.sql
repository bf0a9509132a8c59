-- The longest retention any policy asks for, in seconds.
SELECT extract(epoch FROM max(retention)) FROM audit_retention_policies
