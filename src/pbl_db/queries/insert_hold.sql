-- Place a legal hold on an application.
INSERT INTO legal_holds (tenant_id, application_id, reason)
VALUES (%(tenant_id)s, %(application_id)s, %(reason)s)
RETURNING id, tenant_id, application_id, reason, placed_at, placed_by
