-- This server's role and replication, from either side (pbl replica status): as a standby, its
-- WAL receiver and replay lag; as a primary (or a cascading standby), its standbys and slots.
SELECT json_build_object(
    'role', CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END,
    'timeline', CASE WHEN pg_is_in_recovery()
                     THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver),
                                   (SELECT timeline_id FROM pg_control_checkpoint()))
                     -- the timeline of the WAL being written, not of the last checkpoint
                     -- (which lags behind a promotion until the next checkpoint)
                     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
                END,
    'lsn', CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                ELSE pg_current_wal_lsn() END::text,
    'receiver', (
        SELECT json_build_object(
            -- without pg_read_all_stats every column but pid reads NULL
            'status', status, 'running', pid IS NOT NULL,
            'sender_host', sender_host, 'sender_port', sender_port,
            'slot_name', slot_name, 'flushed_lsn', flushed_lsn::text,
            'last_message_age_s',
                round(extract(epoch FROM now() - last_msg_receipt_time)::numeric, 3))
        FROM pg_stat_wal_receiver),
    'replay_lag_bytes', CASE WHEN pg_is_in_recovery()
        THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END,
    -- nothing left to replay means no lag, however old the last replayed commit is
    'replay_lag_s', CASE WHEN NOT pg_is_in_recovery() THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::numeric, 3) END,
    'standbys', coalesce((
        SELECT json_agg(json_build_object(
            'application_name', application_name, 'client_addr', client_addr::text,
            'state', state, 'sync_state', sync_state, 'replay_lsn', replay_lsn::text,
            'lag_bytes', CASE WHEN pg_is_in_recovery() THEN NULL
                              ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END,
            'replay_lag_s', round(extract(epoch FROM replay_lag)::numeric, 3))
            ORDER BY application_name, client_addr)
        FROM pg_stat_replication), '[]'::json),
    'slots', coalesce((
        SELECT json_agg(json_build_object(
            'slot_name', slot_name, 'slot_type', slot_type, 'active', active,
            'restart_lsn', restart_lsn::text, 'wal_status', wal_status,
            'retained_bytes', pg_wal_lsn_diff(
                CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                     ELSE pg_current_wal_lsn() END, restart_lsn))
            ORDER BY slot_name)
        FROM pg_replication_slots), '[]'::json)
)
