-- Checkpoints and who wrote shared buffers, PostgreSQL 13 to 15: all of it in pg_stat_bgwriter.
SELECT json_build_object(
    'checkpoints_view', 'pg_stat_bgwriter',
    'timed', b.checkpoints_timed,
    'requested', b.checkpoints_req,
    'writes_view', 'pg_stat_bgwriter',
    -- buffers_backend also counts bulk loads writing their own ring buffers
    'bulk_included', true,
    'checkpointer_writes', b.buffers_checkpoint,
    'bgwriter_writes', b.buffers_clean,
    'backend_writes', b.buffers_backend,
    'stats_reset', b.stats_reset)
FROM pg_stat_bgwriter AS b
