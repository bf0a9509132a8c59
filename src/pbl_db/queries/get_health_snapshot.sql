-- Everything pbl health reads from statistics views and catalogs, as one JSON object in one round trip.
WITH me AS (
    SELECT pg_backend_pid() AS pid
), clients AS (
    SELECT a.*
    FROM pg_stat_activity AS a
    WHERE a.backend_type = 'client backend' AND a.pid <> (SELECT pid FROM me)
), blocked AS (
    SELECT c.pid, pg_blocking_pids(c.pid) AS blockers,
           extract(epoch FROM now() - c.query_start)::float8 AS seconds,
           c.usename, c.application_name
    FROM clients AS c
    WHERE c.wait_event_type = 'Lock'
), table_stats AS (
    -- autovacuum's own rule (relation_needs_vacanalyze): dead rows above threshold +
    -- scale_factor x reltuples, per-table reloptions first, capped on 18+ by
    -- autovacuum_vacuum_max_threshold; size from relpages so that no table is locked
    SELECT s.relid, format('%%I.%%I', s.schemaname, s.relname) AS name,
           s.n_dead_tup, s.n_live_tup,
           greatest(s.last_vacuum, s.last_autovacuum) AS vacuumed_at,
           c.relpages::bigint * current_setting('block_size')::bigint AS bytes,
           least(coalesce(o.base, current_setting('autovacuum_vacuum_threshold')::float8)
                 + coalesce(o.scale, current_setting('autovacuum_vacuum_scale_factor')::float8)
                   * greatest(c.reltuples, 0),
                 CASE WHEN coalesce(o.max, current_setting('autovacuum_vacuum_max_threshold', true)::float8, -1) >= 0
                      THEN coalesce(o.max, current_setting('autovacuum_vacuum_max_threshold', true)::float8)
                      ELSE 'infinity' END) AS threshold,
           current_setting('autovacuum')::bool AND current_setting('track_counts')::bool
               AND coalesce(o.enabled, true) AS autovacuum_on
    FROM pg_stat_user_tables AS s
    JOIN pg_class AS c ON c.oid = s.relid
    CROSS JOIN LATERAL (
        SELECT max(r.option_value) FILTER (WHERE r.option_name = 'autovacuum_vacuum_threshold')::float8 AS base,
               max(r.option_value) FILTER (WHERE r.option_name = 'autovacuum_vacuum_scale_factor')::float8 AS scale,
               max(r.option_value) FILTER (WHERE r.option_name = 'autovacuum_vacuum_max_threshold')::float8 AS max,
               max(r.option_value) FILTER (WHERE r.option_name = 'autovacuum_enabled')::bool AS enabled
        FROM pg_options_to_table(c.reloptions) AS r
    ) AS o
    WHERE s.n_dead_tup >= %(min_dead_rows)s
), stats_since AS (
    -- a table never vacuumed has waited at most since the statistics began
    SELECT greatest(pg_postmaster_start_time(), d.stats_reset) AS at
    FROM pg_stat_database AS d WHERE d.datname = current_database()
), lagging AS (
    SELECT t.*, extract(epoch FROM now() - coalesce(t.vacuumed_at, (SELECT at FROM stats_since)))::float8 AS waited
    FROM table_stats AS t
    WHERE t.n_dead_tup > t.threshold AND t.bytes >= %(min_dead_table_bytes)s
      -- a worker on it now is autovacuum keeping up
      AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_vacuum AS p WHERE p.relid = t.relid)
), widths AS (
    SELECT c.oid, c.relpages::bigint AS pages, greatest(c.reltuples, 0) AS tuples,
           24 + sum(st.avg_width * (1 - st.null_frac)) AS width,
           coalesce((SELECT o.option_value::int FROM pg_options_to_table(c.reloptions) AS o
                     WHERE o.option_name = 'fillfactor'), 100) AS fillfactor
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    JOIN pg_stats AS st ON st.schemaname = n.nspname AND st.tablename = c.relname
    WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast'
      AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_bloat_table_bytes)s
    -- every pg_class column named: pg_class has no primary key before PostgreSQL 14, so GROUP BY
    -- c.oid alone does not cover c.relpages there ("must appear in the GROUP BY clause")
    GROUP BY c.oid, c.relpages, c.reltuples, c.reloptions
), bloat AS (
    SELECT w.oid::regclass::text AS name,
           w.pages * current_setting('block_size')::bigint AS bytes,
           greatest(w.pages - ceil(w.tuples / greatest(floor(
               (current_setting('block_size')::int - 24) * w.fillfactor / 100.0 / (w.width + 4)), 1)), 0)::bigint
               * current_setting('block_size')::bigint AS bloat_bytes
    FROM widths AS w
), sequences AS (
    SELECT format('%%I.%%I', s.schemaname, s.sequencename) AS name,
           s.last_value,
           least(s.max_value, CASE t.typname WHEN 'int2' THEN 32767 WHEN 'int4' THEN 2147483647
                                             ELSE s.max_value END) AS max_value,
           s.min_value
    FROM pg_sequences AS s
    JOIN pg_namespace AS n ON n.nspname = s.schemaname
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = s.sequencename
    LEFT JOIN pg_depend AS d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_attribute AS att ON att.attrelid = d.refobjid AND att.attnum = d.refobjsubid
    LEFT JOIN pg_type AS t ON t.oid = att.atttypid
    WHERE s.increment_by > 0 AND s.last_value IS NOT NULL
), audit_parts AS (
    SELECT p.relname,
           pg_get_expr(p.relpartbound, p.oid) AS bound
    FROM pg_inherits AS i
    JOIN pg_class AS p ON p.oid = i.inhrelid
    WHERE i.inhparent = to_regclass('public.audit_logs')
)
SELECT json_build_object(
    'server_version_num', current_setting('server_version_num')::int,
    'server_version', current_setting('server_version'),
    'in_recovery', pg_is_in_recovery(),
    'max_connections', current_setting('max_connections')::int,
    'reserved_connections', current_setting('superuser_reserved_connections')::int,
    'connections', (SELECT count(*) + 1 FROM clients),
    'active', (SELECT count(*) FROM clients WHERE state = 'active'),
    'idle_in_transaction', (
        SELECT json_build_object(
            'count', count(*) FILTER (WHERE now() - state_change >= make_interval(secs => %(idle_min_seconds)s)),
            'seconds', coalesce(max(extract(epoch FROM now() - state_change)), 0)::float8,
            'pid', (array_agg(pid ORDER BY state_change))[1])
        FROM clients WHERE state LIKE 'idle in transaction%%'),
    'longest_query', (
        SELECT json_build_object('seconds', extract(epoch FROM now() - query_start)::float8, 'pid', pid)
        FROM clients WHERE state = 'active' AND query_start IS NOT NULL
        ORDER BY query_start LIMIT 1),
    'longest_transaction', (
        SELECT json_build_object('seconds', extract(epoch FROM now() - xact_start)::float8,
                                 'pid', pid, 'state', state)
        FROM clients WHERE xact_start IS NOT NULL
        ORDER BY xact_start LIMIT 1),
    'blocked', (
        SELECT coalesce(json_agg(json_build_object(
            'pid', b.pid, 'blockers', b.blockers, 'seconds', b.seconds, 'user', b.usename,
            'blocker_states', (SELECT json_agg(json_build_object('pid', a.pid, 'state', a.state))
                               FROM pg_stat_activity AS a WHERE a.pid = ANY (b.blockers)))
            ORDER BY b.seconds DESC), '[]'::json)
        FROM blocked AS b WHERE cardinality(b.blockers) > 0),
    'xid_age', (SELECT max(age(datfrozenxid)) FROM pg_database),
    'mxid_age', (SELECT max(mxid_age(datminmxid)) FROM pg_database),
    'xid_oldest_database', (SELECT datname FROM pg_database ORDER BY age(datfrozenxid) DESC LIMIT 1),
    'blks_hit', (SELECT blks_hit FROM pg_stat_database WHERE datname = current_database()),
    'blks_read', (SELECT blks_read FROM pg_stat_database WHERE datname = current_database()),
    'dead', (SELECT json_build_object('table', name, 'dead', n_dead_tup, 'live', n_live_tup,
                                      'threshold', round(threshold::numeric)::bigint,
                                      'bytes', bytes, 'waited_seconds', waited,
                                      'vacuumed_at', vacuumed_at, 'autovacuum_on', autovacuum_on,
                                      'tables', (SELECT count(*) FROM lagging))
             FROM lagging ORDER BY waited DESC, n_dead_tup DESC LIMIT 1),
    'bloat', (SELECT json_build_object('table', name, 'bytes', bytes, 'bloat_bytes', bloat_bytes)
              FROM bloat ORDER BY bloat_bytes DESC LIMIT 1),
    'invalid_indexes', (SELECT coalesce(json_agg(indexrelid::regclass::text ORDER BY 1), '[]'::json)
                        FROM pg_index WHERE NOT indisvalid),
    'sequence', (SELECT json_build_object('name', name,
                     'pct', (100.0 * (last_value - min_value) / greatest(max_value - min_value, 1))::float8)
                 FROM sequences
                 ORDER BY (last_value - min_value)::numeric / greatest(max_value - min_value, 1) DESC
                 LIMIT 1),
    'archiver', (SELECT json_build_object(
                     'archive_mode', current_setting('archive_mode'),
                     'archived_count', archived_count, 'failed_count', failed_count,
                     'last_archived_time', last_archived_time, 'last_failed_time', last_failed_time,
                     'last_failed_wal', last_failed_wal)
                 FROM pg_stat_archiver),
    'standbys', (SELECT coalesce(json_agg(json_build_object(
                     'name', coalesce(nullif(application_name, ''), client_addr::text, pid::text),
                     'state', state,
                     'replay_lag', extract(epoch FROM replay_lag)::float8)), '[]'::json)
                 FROM pg_stat_replication),
    -- a standby's own state: its WAL receiver, how far replay is behind what it received
    -- (0 when it has replayed everything, however old the last commit), recovery conflicts
    'standby', CASE WHEN pg_is_in_recovery() THEN json_build_object(
        'receiver', (SELECT status FROM pg_stat_wal_receiver),
        -- status and the rest read NULL without pg_read_all_stats; pid does not
        'receiver_running', coalesce((SELECT pid IS NOT NULL FROM pg_stat_wal_receiver), false),
        'upstream', (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver),
        'replay_lag', CASE
            WHEN pg_last_wal_receive_lsn() IS NOT NULL
                 AND pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,
        'replay_lag_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
        -- every confl_* counter of this database, whatever the major adds (16: logical slots)
        'conflicts', (SELECT sum(j.value::bigint)
                      FROM pg_stat_database_conflicts c, jsonb_each_text(to_jsonb(c)) AS j
                      WHERE c.datname = current_database() AND j.key LIKE 'confl\_%%'))
        END,
    'inactive_slots', (SELECT coalesce(json_agg(json_build_object(
                           'name', slot_name, 'wal_status', wal_status,
                           'retained_bytes', CASE WHEN restart_lsn IS NULL THEN 0
                               WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), restart_lsn)
                               ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END)), '[]'::json)
                       FROM pg_replication_slots WHERE NOT active),
    'database_size', pg_database_size(current_database()),
    'audit_logs', to_regclass('public.audit_logs') IS NOT NULL,
    'audit_partitions', (SELECT coalesce(json_agg(json_build_object('name', relname, 'bound', bound)), '[]'::json)
                         FROM audit_parts),
    'tenant_quotas', to_regclass('public.tenant_usage') IS NOT NULL
                     AND has_table_privilege('public.tenant_usage', 'SELECT')
                     AND has_table_privilege('public.tenant_monthly_usage', 'SELECT'),
    'tenants_limited', CASE WHEN to_regclass('public.tenants') IS NOT NULL
                            THEN row_security_active('public.tenants') END,
    'now_utc_month', to_char(date_trunc('month', now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),
    'pgss_installed', EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'),
    'pgss_available', EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'),
    'preload', current_setting('shared_preload_libraries')
)
