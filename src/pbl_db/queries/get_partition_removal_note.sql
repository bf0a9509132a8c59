-- Whether the audit chain's ledger function for whole-partition removals exists (0017).
SELECT to_regprocedure('public.pbl_audit_note_partition_removal(regclass)') IS NOT NULL
