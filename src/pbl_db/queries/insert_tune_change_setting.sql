-- pbl tune apply: record one setting of a change, with the postgresql.auto.conf entry it replaced.
INSERT INTO public.pbl_tune_history_settings
    (change_id, ordinal, name, was_set, previous_value, previous_effective, new_value)
VALUES (%(change_id)s, %(ordinal)s, %(name)s, %(was_set)s, %(previous_value)s,
        %(previous_effective)s, %(new_value)s)
