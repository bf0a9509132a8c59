-- Take the partition (or the default partition) exclusively before DROP asks for audit_logs.
LOCK TABLE {partition} IN ACCESS EXCLUSIVE MODE
