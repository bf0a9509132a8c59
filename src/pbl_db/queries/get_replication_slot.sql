-- Whether a replication slot of this name exists (pbl replica create reuses it).
SELECT slot_type FROM pg_replication_slots WHERE slot_name = %(slot)s
