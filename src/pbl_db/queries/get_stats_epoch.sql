-- The current tenant's applications change counter (0018: equal values mean no committed change
-- to its statistics in between), and what makes a cache key unique to this database: its name
-- and the server's start time (a restore, a clone on another server or a promoted replica
-- starts another key space).
SELECT pbl_application_stats_epoch() AS epoch,
       current_database() AS datname,
       extract(epoch FROM pg_postmaster_start_time())::numeric(20, 6)::text AS started
