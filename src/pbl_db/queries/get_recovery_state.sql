-- Whether this server is a standby (in recovery: read-only), for the commands that write.
SELECT pg_is_in_recovery()
