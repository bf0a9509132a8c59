-- VACUUM one table (never FULL): reclaim dead tuples for reuse, freeze, update the visibility map; {analyze} is true or false.
VACUUM (ANALYZE {analyze}) {table}
