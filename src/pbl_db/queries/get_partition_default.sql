-- The name of audit_logs' default partition, if it has one (catalog only, no lock taken).
SELECT c.relname
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'public.audit_logs'::regclass
  AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
