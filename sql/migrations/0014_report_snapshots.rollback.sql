DROP TABLE pbl_report_snapshots;
