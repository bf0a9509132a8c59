-- Checkpoints and who wrote shared buffers, PostgreSQL 16: checkpoints in pg_stat_bgwriter,
-- writes by process type and context in pg_stat_io (new in 16), bulk loads' rings apart.
WITH io AS (
    SELECT sum(writes) FILTER (WHERE backend_type = 'checkpointer') AS checkpointer,
           sum(writes) FILTER (WHERE backend_type = 'background writer') AS bgwriter,
           sum(writes) FILTER (WHERE backend_type = 'client backend') AS backend
    FROM pg_stat_io
    WHERE object = 'relation' AND context = 'normal'
)
SELECT json_build_object(
    'checkpoints_view', 'pg_stat_bgwriter',
    'timed', b.checkpoints_timed,
    'requested', b.checkpoints_req,
    'writes_view', 'pg_stat_io',
    'bulk_included', false,
    'checkpointer_writes', coalesce(io.checkpointer, 0),
    'bgwriter_writes', coalesce(io.bgwriter, 0),
    'backend_writes', coalesce(io.backend, 0),
    'stats_reset', b.stats_reset)
FROM pg_stat_bgwriter AS b, io
