-- Export the snapshot pg_dump will use, so row counts and the dump see the same data.
SELECT pg_export_snapshot()
