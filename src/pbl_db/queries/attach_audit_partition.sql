-- Attach a monthly partition to audit_logs (its rows are checked against the bounds).
ALTER TABLE public.audit_logs ATTACH PARTITION {partition} FOR VALUES FROM ({lo}) TO ({hi})
