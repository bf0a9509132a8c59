-- What a public relation of that name is, if anything (a table in the way of a partition name).
SELECT c.relkind, c.relispartition FROM pg_class AS c
WHERE c.relnamespace = 'public'::regnamespace AND c.relname = %(name)s
