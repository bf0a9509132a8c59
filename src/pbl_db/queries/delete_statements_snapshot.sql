-- Delete one snapshot (its rows go with it: ON DELETE CASCADE).
DELETE FROM pbl_statement_snapshots WHERE id = %(id)s
