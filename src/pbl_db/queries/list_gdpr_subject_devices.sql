-- Devices linked to a data subject's applications (applications.duoplus_device_id names a
-- device's device_id_external), in the same tenant.
SELECT d.* FROM devices AS d
WHERE d.tenant_id = %(tenant_id)s
  AND d.device_id_external IN (
      SELECT a.duoplus_device_id FROM applications AS a
      WHERE a.tenant_id = %(tenant_id)s AND a.id = ANY(%(ids)s) AND a.duoplus_device_id IS NOT NULL)
ORDER BY d.created_at, d.id
