-- Drop a replication slot that pbl replica create made, when the standby it was for failed.
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
WHERE slot_name = %(slot)s AND NOT active
