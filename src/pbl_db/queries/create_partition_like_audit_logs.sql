-- A standalone table shaped like audit_logs (columns, defaults, checks, indexes), to attach as a partition.
CREATE TABLE {partition} (LIKE public.audit_logs INCLUDING ALL)
