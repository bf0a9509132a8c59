-- A new user of a tenant.
INSERT INTO users (tenant_id, email, password_hash, first_name, last_name, role, is_verified,
                   created_by)
VALUES (%(tenant_id)s, %(email)s, %(password_hash)s, %(first_name)s, %(last_name)s, %(role)s,
        %(is_verified)s, NULL)
RETURNING id
