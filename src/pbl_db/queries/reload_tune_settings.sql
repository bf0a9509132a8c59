-- pbl tune: ask the postmaster to reload the configuration files (it signals every backend).
SELECT pg_catalog.pg_reload_conf()
