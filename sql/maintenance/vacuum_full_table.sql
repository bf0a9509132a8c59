-- VACUUM FULL one table: rewrites it under an ACCESS EXCLUSIVE lock (reads and writes wait); only with pbl maintenance vacuum --full.
VACUUM (FULL, ANALYZE {analyze}) {table}
