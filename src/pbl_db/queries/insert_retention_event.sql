-- One compliance event written by pbl itself (retention run, hold, release).
INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category, event_description,
                        service_name, service_version, user_id, event_data,
                        compliance_requirement)
VALUES (%(tenant_id)s, %(application_id)s, %(event_type)s, 'compliance', %(description)s,
        'pbl', %(version)s, session_user, %(data)s, 'data retention')
RETURNING id, event_timestamp
