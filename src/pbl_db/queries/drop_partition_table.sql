-- Drop a partition (attached: ACCESS EXCLUSIVE on audit_logs and its default partition until commit).
DROP TABLE {partition}
