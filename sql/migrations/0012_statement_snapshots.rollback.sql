DROP TABLE pbl_statement_snapshot_rows;

DROP TABLE pbl_statement_snapshots;
