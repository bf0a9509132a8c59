-- The start of the period holding --until (default now; never later than now): periods before it have ended.
SELECT date_trunc(%(period)s, least(coalesce(%(until)s::timestamptz, now()), now()), 'UTC')
