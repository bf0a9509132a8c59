-- One consistent, read-only snapshot for a GDPR export (first statement of its transaction).
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY
