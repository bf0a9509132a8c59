-- Whether the current role may act as pbl_owner (owner of audit_logs and its partitions).
SELECT pg_has_role(current_user, 'pbl_owner', 'MEMBER')
