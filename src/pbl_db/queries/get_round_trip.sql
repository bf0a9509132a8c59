-- The cheapest round trip, timed by pbl health.
SELECT 1
