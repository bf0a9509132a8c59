-- Whether migration 0017 (the audit chain) is applied.
SELECT to_regclass('public.audit_seals') IS NOT NULL
   AND to_regclass('public.audit_chain_removals') IS NOT NULL
