-- Hand a table repair made to pbl_owner, which owns audit_logs and every partition of it.
ALTER TABLE {partition} OWNER TO pbl_owner
