-- The seal's time (transaction start) and who seals.
SELECT now(), session_user::text
