-- Checkpoints and who wrote shared buffers, PostgreSQL 17+: the checkpointer has its own view
-- (pg_stat_checkpointer, split from pg_stat_bgwriter in 17), writes come from pg_stat_io.
WITH io AS (
    SELECT sum(writes) FILTER (WHERE backend_type = 'checkpointer') AS checkpointer,
           sum(writes) FILTER (WHERE backend_type = 'background writer') AS bgwriter,
           sum(writes) FILTER (WHERE backend_type = 'client backend') AS backend
    FROM pg_stat_io
    WHERE object = 'relation' AND context = 'normal'
)
SELECT json_build_object(
    'checkpoints_view', 'pg_stat_checkpointer',
    'timed', c.num_timed,
    'requested', c.num_requested,
    'writes_view', 'pg_stat_io',
    'bulk_included', false,
    'checkpointer_writes', coalesce(io.checkpointer, 0),
    'bgwriter_writes', coalesce(io.bgwriter, 0),
    'backend_writes', coalesce(io.backend, 0),
    'stats_reset', c.stats_reset)
FROM pg_stat_checkpointer AS c, io
