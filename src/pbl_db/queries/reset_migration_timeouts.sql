-- Back to the server's timeouts after a non-transactional migration.
RESET lock_timeout;
RESET statement_timeout
