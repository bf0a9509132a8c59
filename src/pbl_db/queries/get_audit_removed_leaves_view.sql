-- Whether the ledger view of rows removed one by one (migration 0019) exists.
SELECT to_regclass('public.audit_chain_removed_leaves') IS NOT NULL
