-- The server's now() and its current UTC month, which partition names and bounds follow.
SELECT now() AS now, date_trunc('month', now() AT TIME ZONE 'UTC')::date AS month
