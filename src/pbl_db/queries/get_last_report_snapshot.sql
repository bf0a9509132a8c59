-- The sizes recorded by the previous pbl report, if any.
SELECT taken_at, database_bytes, sizes FROM pbl_report_snapshots ORDER BY taken_at DESC, id DESC LIMIT 1
