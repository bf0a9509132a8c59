-- Attach the default partition of audit_logs.
ALTER TABLE public.audit_logs ATTACH PARTITION {partition} DEFAULT
