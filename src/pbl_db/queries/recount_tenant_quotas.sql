-- Sets the quota counters of one tenant (NULL: all) to what the rows hold; how many were wrong.
SELECT pbl_quota_recount(%(tenant_id)s::uuid)
