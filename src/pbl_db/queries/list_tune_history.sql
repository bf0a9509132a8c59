-- pbl tune history: recorded changes, newest first, each with its settings in the order they were written.
SELECT h.id, h.applied_at, h.applied_by, h.client, h.profile, h.inputs, h.server_version,
       h.reverted_at, h.reverted_by,
       coalesce(jsonb_agg(jsonb_build_object(
           'name', s.name, 'was_set', s.was_set, 'previous_value', s.previous_value,
           'previous_effective', s.previous_effective, 'new_value', s.new_value)
           ORDER BY s.ordinal) FILTER (WHERE s.name IS NOT NULL), '[]'::jsonb) AS settings
FROM public.pbl_tune_history AS h
LEFT JOIN public.pbl_tune_history_settings AS s ON s.change_id = h.id
WHERE %(change_id)s::bigint IS NULL OR h.id = %(change_id)s::bigint
GROUP BY h.id
ORDER BY h.id DESC
LIMIT %(limit)s
