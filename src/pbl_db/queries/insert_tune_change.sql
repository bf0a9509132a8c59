-- pbl tune apply: record one change (who, from where, with which inputs); returns its id and time.
INSERT INTO public.pbl_tune_history (client, profile, inputs, server_version)
VALUES (%(client)s, %(profile)s, %(inputs)s, %(server_version)s)
RETURNING id, applied_at
