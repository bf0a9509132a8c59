-- Sessions with their transaction, query and state ages in seconds and the pids blocking them; longest transactions first. %(pids)s NULL lists (client backends that are not idle unless %(all)s, never this session); an array looks those pids up.
SELECT a.pid,
       a.pid = pg_catalog.pg_backend_pid() AS is_self,
       a.datname AS database,
       a.usename AS "user",
       a.application_name AS application,
       host(a.client_addr) AS client,
       a.backend_type,
       a.backend_start,
       a.state,
       a.wait_event_type,
       a.wait_event,
       CASE WHEN a.xact_start IS NOT NULL
            THEN greatest(0, extract(epoch FROM now() - a.xact_start)) END::float8 AS xact_age_s,
       CASE WHEN a.query_start IS NOT NULL
            THEN greatest(0, extract(epoch FROM now() - a.query_start)) END::float8 AS query_age_s,
       CASE WHEN a.state_change IS NOT NULL
            THEN greatest(0, extract(epoch FROM now() - a.state_change)) END::float8 AS state_age_s,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(a.pid)
            ELSE '{}'::integer[] END AS blocked_by,
       a.query
FROM pg_catalog.pg_stat_activity AS a
WHERE CASE WHEN %(pids)s::integer[] IS NOT NULL THEN a.pid = ANY (%(pids)s::integer[])
           ELSE a.pid <> pg_catalog.pg_backend_pid()
                AND (%(all)s OR (a.backend_type = 'client backend'
                                 AND a.state IS DISTINCT FROM 'idle'))
      END
ORDER BY a.xact_start NULLS LAST, a.query_start NULLS LAST, a.pid
