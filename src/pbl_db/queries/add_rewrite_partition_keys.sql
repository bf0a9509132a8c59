-- audit_logs' foreign keys on a table prepared for a rewrite, validated before the swap (0019).
SELECT pbl_audit_rewrite_partition_keys(%(new_table)s)
