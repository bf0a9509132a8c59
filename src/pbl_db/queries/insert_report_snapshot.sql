-- Record this report's sizes for the next report's growth column.
INSERT INTO pbl_report_snapshots (database_bytes, sizes) VALUES (%s, %s) RETURNING id, taken_at
