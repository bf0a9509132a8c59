-- Swap in the re-encrypted values, only where the row still holds what was read (no lost update).
UPDATE {table} AS t
SET {assignments}
FROM {staging} AS s
WHERE t.id = s.id AND {unchanged}
RETURNING t.id
