-- pbl tune: when this backend last loaded the configuration files (moves once it has processed a reload).
SELECT pg_catalog.pg_conf_load_time()
