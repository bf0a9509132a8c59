-- pbl tune revert --last: the newest change not reverted yet.
SELECT id FROM public.pbl_tune_history WHERE reverted_at IS NULL ORDER BY id DESC LIMIT 1
