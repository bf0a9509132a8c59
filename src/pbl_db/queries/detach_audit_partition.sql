-- Detach one partition from audit_logs (ACCESS EXCLUSIVE on audit_logs until commit).
ALTER TABLE public.audit_logs DETACH PARTITION {partition}
