-- Put a prepared rewrite in place of the month: holds checked, removed rows noted, tables swapped (0019).
SELECT pbl_audit_rewrite_partition_swap(%(partition)s::regclass, %(new_table)s, %(kept)s)
