-- When pg_stat_statements was last reset as a whole and how many entries it evicted (1.9+);
-- the view is the extension's pg_stat_statements_info, filled in with psycopg.sql.
SELECT i.dealloc, i.stats_reset FROM {info} AS i
