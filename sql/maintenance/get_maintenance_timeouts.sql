-- The session's lock_timeout and statement_timeout, restored when a maintenance run ends.
SELECT current_setting('lock_timeout') AS lock_timeout,
       current_setting('statement_timeout') AS statement_timeout
