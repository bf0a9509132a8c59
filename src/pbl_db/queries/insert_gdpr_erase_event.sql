-- The audit event of a GDPR erase in one tenant: no personal data, a subject reference only.
INSERT INTO audit_logs (tenant_id, application_id, event_type, event_category,
                        event_description, user_id, service_name, service_version, event_data,
                        compliance_requirement, regulation)
VALUES (%(tenant_id)s, %(application_id)s, 'gdpr.erase', 'compliance',
        'GDPR erasure (right to be forgotten): rows soft-deleted and anonymized',
        session_user, 'pbl', %(service_version)s, %(event_data)s,
        'GDPR Art. 17', 'GDPR')
RETURNING id, event_timestamp
