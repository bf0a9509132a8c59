-- No parallel workers for this transaction's queries.
SET LOCAL max_parallel_workers_per_gather = 0
