-- audit_logs' columns in order (a partition copy names them: physical orders may differ).
SELECT attname FROM pg_attribute
WHERE attrelid = 'public.audit_logs'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
