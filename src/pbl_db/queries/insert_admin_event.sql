-- The audit event of an administrative change (pbl tenants / pbl users): who, what, before and
-- after; never a password, hash, MFA secret or token.
INSERT INTO audit_logs (tenant_id, event_type, event_category, event_description, user_id,
                        service_name, service_version, event_data, previous_state, new_state)
VALUES (%(tenant_id)s, %(event_type)s, 'administration', %(description)s, session_user,
        'pbl', %(service_version)s, %(event_data)s, %(previous)s, %(new)s)
RETURNING id
