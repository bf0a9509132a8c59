-- The server's maintenance_work_mem in bytes: a restore raises it for its own sessions only when it is lower.
SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'
