-- Copy what a past month keeps into a new table and note the rest in the removal ledger (0019).
SELECT kept, removed, by_regulation
FROM pbl_audit_rewrite_partition_prepare(%(partition)s::regclass, %(new_table)s)
