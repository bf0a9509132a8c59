-- Exact rows of one partition table.
SELECT count(*) FROM {partition}
