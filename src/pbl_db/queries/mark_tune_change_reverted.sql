-- pbl tune revert: mark a change reverted, by whom and when.
UPDATE public.pbl_tune_history SET reverted_at = now(), reverted_by = session_user
WHERE id = %(change_id)s AND reverted_at IS NULL
