-- Record, before it goes, that a whole partition of audit_logs is removed by retention (0017).
SELECT public.pbl_audit_note_partition_removal(%(partition)s::regclass)
