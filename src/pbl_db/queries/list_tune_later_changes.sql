-- pbl tune revert: changes recorded after this one that are still in place and touch the same settings.
SELECT DISTINCT h.id, s.name
FROM public.pbl_tune_history AS h
JOIN public.pbl_tune_history_settings AS s ON s.change_id = h.id
WHERE h.id > %(change_id)s AND h.reverted_at IS NULL AND s.name = ANY(%(names)s)
ORDER BY h.id, s.name
