-- Rename a (detached) partition table.
ALTER TABLE {partition} RENAME TO {new_name}
