-- The spec's Performance Tuning / Configuration Optimization values, as the spec writes them.
-- `pbl tune show|apply --profile spec` reads the ALTER SYSTEM SET lines of this file as
-- name/value pairs (one statement per line; comments, blank lines and the final reload are
-- allowed, anything else is an error). pbl never runs the file as is: it checks each name in
-- pg_settings, sends each value as a literal, records the previous values and reloads.

-- Memory settings
ALTER SYSTEM SET shared_buffers = '256MB';
ALTER SYSTEM SET effective_cache_size = '1GB';
ALTER SYSTEM SET work_mem = '4MB';

-- Connection settings
ALTER SYSTEM SET max_connections = 200;
ALTER SYSTEM SET superuser_reserved_connections = 3;

-- Query planning
ALTER SYSTEM SET random_page_cost = 1.1;
ALTER SYSTEM SET effective_io_concurrency = 200;

SELECT pg_reload_conf();
