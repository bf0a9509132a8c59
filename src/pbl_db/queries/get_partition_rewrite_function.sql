-- Whether the rewrite path of pbl retention run exists (migration 0019).
SELECT to_regprocedure('public.pbl_audit_rewrite_partition_swap(regclass, text, bigint)') IS NOT NULL
