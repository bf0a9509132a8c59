-- Whether rows sit in audit_logs' default partition (they block creating the partition that should hold them).
SELECT EXISTS (SELECT 1 FROM public.audit_logs_default)
