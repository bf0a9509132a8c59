-- Session-private staging for one batch: old and new values of each encrypted column.
CREATE TEMP TABLE IF NOT EXISTS {staging} (id uuid PRIMARY KEY, {columns}) ON COMMIT DELETE ROWS
